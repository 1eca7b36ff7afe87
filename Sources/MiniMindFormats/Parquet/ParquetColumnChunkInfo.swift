/// Where and how one column of one row group is stored, as the footer declares it (for inspection tools).
public struct ParquetColumnChunkInfo: Sendable, Equatable {
    public let rowGroup: Int
    /// The leaf's path in the schema, e.g. ["image_bytes", "list", "element"].
    public let path: [String]
    /// The codec's Parquet name (UNCOMPRESSED, SNAPPY, ZSTD, GZIP, ...).
    public let codec: String
    /// File offset of the chunk's first page (its dictionary page when it has one).
    public let offset: Int64
    public let compressedSize: Int64
    /// Entries in the chunk, nulls included.
    public let valueCount: Int64
}

extension ParquetReader {
    /// The column chunks of one row group, unvalidated, in schema leaf order.
    public func columnChunks(inRowGroup index: Int) -> [ParquetColumnChunkInfo] {
        guard rowGroups.indices.contains(index) else { return [] }
        return rowGroups[index].columns.compactMap { chunk in
            guard let meta = chunk.metaData else { return nil }
            var start = meta.dataPageOffset
            if let dictionary = meta.dictionaryPageOffset, dictionary > 0, dictionary < start { start = dictionary }
            return ParquetColumnChunkInfo(rowGroup: index, path: meta.pathInSchema, codec: ParquetCodec.name(meta.codec),
                                          offset: start, compressedSize: meta.totalCompressedSize, valueCount: meta.numValues)
        }
    }
}
