import Foundation

/// Reads a Parquet file row by row. Opening reads only the footer; iterating reads, for each row
/// group, the requested columns' pages one at a time with positional reads.
///
///     let reader = try ParquetReader(url: url)
///     let rows = try reader.rows(columns: ["conversations", "image_bytes"])
///     while let row = try rows.next() { print(try row.string("conversations") ?? "") }
public final class ParquetReader {
    public let url: URL
    public let schema: ParquetSchema
    /// Total rows over all row groups.
    public let rowCount: Int
    /// Rows in each row group, in file order.
    public let rowGroupRowCounts: [Int]
    public let limits: ParquetLimits
    /// The writer named in the footer (e.g. "parquet-cpp-arrow version 26.0.1"), if any.
    public let createdBy: String?

    let source: ParquetFileSource
    let rowGroups: [RowGroup]
    /// Where the footer starts; column data must lie in 4..<footerStart.
    let footerStart: Int

    public var columnNames: [String] { schema.columns.map(\.name) }
    public var rowGroupCount: Int { rowGroups.count }

    /// Opens a file; only its footer is read now.
    public convenience init(url: URL, limits: ParquetLimits = ParquetLimits()) throws {
        try self.init(source: try ParquetFileSource(url: url), url: url, limits: limits)
    }

    /// Reads a Parquet file that is already in memory; `name` appears in error messages.
    public convenience init(data: Data, name: String = "(memory)", limits: ParquetLimits = ParquetLimits()) throws {
        try self.init(source: ParquetFileSource(bytes: [UInt8](data), name: name),
                      url: URL(fileURLWithPath: name), limits: limits)
    }

    private init(source: ParquetFileSource, url: URL, limits: ParquetLimits) throws {
        self.url = url
        self.limits = limits
        let path = source.path
        self.source = source
        guard source.size >= 12 else {
            throw ParquetError.notParquet(path: path, message: "the file has \(source.size) bytes; a Parquet file has at least 12")
        }
        let head = try source.read(offset: 0, count: 4)
        let tail = try source.read(offset: source.size - 8, count: 8)
        let tailMagic = Array(tail[4..<8])
        if tailMagic == Array("PARE".utf8) {
            throw ParquetError.unsupported(path: path, feature: "an encrypted footer (PARE)")
        }
        guard head == Array("PAR1".utf8), tailMagic == Array("PAR1".utf8) else {
            throw ParquetError.notParquet(path: path, message: "expected the magic bytes 'PAR1' at the start and end, found \(Self.show(head)) and \(Self.show(tailMagic))")
        }
        let footerLength = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
        guard footerLength <= source.size - 12, footerLength <= limits.maxFooterBytes else {
            throw ParquetError.corrupt(path: path, context: "footer",
                                       message: "the footer claims \(footerLength) bytes; the file has room for \(source.size - 12) (limit \(limits.maxFooterBytes))")
        }
        footerStart = source.size - 8 - footerLength
        let footer = try source.read(offset: footerStart, count: footerLength)
        let meta: FileMetaData
        do {
            meta = try footer.withUnsafeBytes { raw in
                var reader = ThriftCompactReader(raw)
                return try reader.readFileMetaData()
            }
            schema = try ParquetSchema.build(meta.schema)
        } catch let error as ParquetDecodeError {
            throw error.located(path: path, context: "footer")
        }
        createdBy = meta.createdBy
        rowGroups = meta.rowGroups
        var counts: [Int] = []
        for (index, group) in meta.rowGroups.enumerated() {
            guard group.numRows >= 0, group.numRows <= Int64(Int32.max) * 1024 else {
                throw ParquetError.corrupt(path: path, context: "row group \(index)", message: "row count \(group.numRows) is out of range")
            }
            guard group.columns.count == schema.leafCount else {
                throw ParquetError.corrupt(path: path, context: "row group \(index)",
                                           message: "it has \(group.columns.count) column chunks; the schema has \(schema.leafCount) leaf columns")
            }
            counts.append(Int(group.numRows))
        }
        rowGroupRowCounts = counts
        var total = 0
        for count in counts {
            let (sum, overflow) = total.addingReportingOverflow(count)
            guard !overflow else { throw ParquetError.corrupt(path: path, context: "footer", message: "the row groups' row counts overflow") }
            total = sum
        }
        rowCount = total
        guard meta.numRows == Int64(rowCount) else {
            throw ParquetError.corrupt(path: path, context: "footer",
                                       message: "the file claims \(meta.numRows) rows; its row groups hold \(rowCount)")
        }
    }

    private static func show(_ bytes: [UInt8]) -> String {
        "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Iterates rows with the given columns (all supported columns when nil), optionally only some row groups.
    public func rows(columns: [String]? = nil, rowGroups selected: Range<Int>? = nil) throws -> ParquetRowIterator {
        let names = columns ?? schema.columns.compactMap { column in
            if case .unsupported = column.shape { return nil }
            return column.name
        }
        var picked: [ParquetColumn] = []
        for name in names {
            guard let column = schema.column(named: name) else {
                throw ParquetError.unknownColumn(path: source.path, column: name, available: columnNames)
            }
            if case .unsupported(let why) = column.shape {
                throw ParquetError.unsupported(path: source.path, feature: "column '\(name)' shaped as \(why)")
            }
            picked.append(column)
        }
        let groups = selected ?? 0..<rowGroups.count
        guard groups.lowerBound >= 0, groups.upperBound <= rowGroups.count else {
            throw ParquetError.corrupt(path: source.path, context: "row group selection",
                                       message: "requested row groups \(groups) of \(rowGroups.count)")
        }
        return ParquetRowIterator(reader: self, columns: picked, rowGroups: groups)
    }

    /// Opens the cursor for one column of one row group after checking its metadata against the schema and file.
    func cursor(for column: ParquetColumn, rowGroup index: Int) throws -> ParquetColumnCursor {
        let context = "row group \(index), column '\(column.name)'"
        func corrupt(_ message: String) -> ParquetError { .corrupt(path: source.path, context: context, message: message) }
        let chunk = rowGroups[index].columns[column.leafIndex]
        if let external = chunk.filePath {
            throw ParquetError.unsupported(path: source.path, feature: "column data in another file ('\(external)')")
        }
        guard let meta = chunk.metaData else { throw corrupt("the column chunk has no metadata") }
        guard meta.type == column.physicalType?.rawValue else {
            throw corrupt("the chunk's type \(meta.type) differs from the schema's \(column.physicalType?.description ?? "?")")
        }
        guard meta.pathInSchema == column.leafPath else {
            throw corrupt("the chunk's path \(meta.pathInSchema.joined(separator: ".")) differs from the schema's \(column.leafPath.joined(separator: "."))")
        }
        var start = meta.dataPageOffset
        if let dictionaryOffset = meta.dictionaryPageOffset, dictionaryOffset > 0, dictionaryOffset < start {
            start = dictionaryOffset
        }
        let size = meta.totalCompressedSize
        guard start >= 4, size >= 0, start <= Int64(footerStart), size <= Int64(footerStart) - start else {
            throw corrupt("the chunk's bytes \(start) + \(size) lie outside the data area 4..<\(footerStart)")
        }
        let lower = Int(start)
        guard meta.numValues >= 0 else { throw corrupt("the chunk claims \(meta.numValues) values") }
        return ParquetColumnCursor(source: source, column: column, codec: meta.codec, declaredEntries: meta.numValues,
                                   range: lower..<(lower + Int(size)), limits: limits, context: context)
    }
}

/// Yields rows one at a time; holds at most the current page of each requested column.
public final class ParquetRowIterator {
    private let reader: ParquetReader
    private let layout: ParquetRowLayout
    private let columns: [ParquetColumn]
    private let rowGroups: Range<Int>
    private var groupIndex: Int
    private var rowsLeftInGroup = 0
    private var cursors: [ParquetColumnCursor] = []
    private var failed = false

    init(reader: ParquetReader, columns: [ParquetColumn], rowGroups: Range<Int>) {
        self.reader = reader
        self.columns = columns
        self.rowGroups = rowGroups
        groupIndex = rowGroups.lowerBound - 1
        layout = ParquetRowLayout(names: columns.map(\.name))
    }

    /// The names of the columns each row holds, in order.
    public var columnNames: [String] { layout.names }

    /// The next row, or nil after the last. After an error the iterator stays finished.
    public func next() throws -> ParquetRow? {
        guard !failed else { return nil }
        do {
            while rowsLeftInGroup == 0 {
                try finishGroup()
                groupIndex += 1
                guard groupIndex < rowGroups.upperBound else { cursors = []; return nil }
                rowsLeftInGroup = reader.rowGroupRowCounts[groupIndex]
                cursors = try columns.map { try reader.cursor(for: $0, rowGroup: groupIndex) }
            }
            var values: [ParquetValue] = []
            values.reserveCapacity(cursors.count)
            for (cursor, column) in zip(cursors, columns) {
                guard let value = try cursor.nextRow() else {
                    throw ParquetError.corrupt(path: reader.source.path, context: "row group \(groupIndex), column '\(column.name)'",
                                               message: "the column ends before the row group's \(reader.rowGroupRowCounts[groupIndex]) rows")
                }
                values.append(value)
            }
            rowsLeftInGroup -= 1
            return ParquetRow(layout: layout, values: values)
        } catch {
            failed = true
            throw error
        }
    }

    /// A finished row group's columns must hold no further rows.
    private func finishGroup() throws {
        for (cursor, column) in zip(cursors, columns) where try cursor.hasMoreEntries() {
            throw ParquetError.corrupt(path: reader.source.path, context: "row group \(groupIndex), column '\(column.name)'",
                                       message: "the column holds more values than the row group's \(reader.rowGroupRowCounts[groupIndex]) rows")
        }
        cursors = []
    }
}
