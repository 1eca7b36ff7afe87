/// The parts of Parquet's Thrift metadata (parquet.thrift) this reader uses. Field numbers follow
/// the specification; every other field is skipped by the Thrift reader.

/// Physical storage types (parquet.thrift `Type`).
public enum ParquetPhysicalType: Int32, CustomStringConvertible, Sendable {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7

    public var description: String {
        switch self {
        case .boolean: return "BOOLEAN"
        case .int32: return "INT32"
        case .int64: return "INT64"
        case .int96: return "INT96"
        case .float: return "FLOAT"
        case .double: return "DOUBLE"
        case .byteArray: return "BYTE_ARRAY"
        case .fixedLenByteArray: return "FIXED_LEN_BYTE_ARRAY"
        }
    }
}

/// Field repetition (parquet.thrift `FieldRepetitionType`).
public enum ParquetRepetition: Int32, Sendable {
    case required = 0, optional = 1, repeated = 2
}

/// Compression codecs (parquet.thrift `CompressionCodec`); the names are used in error messages.
enum ParquetCodec: Int32 {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7

    static func name(_ raw: Int32) -> String {
        switch ParquetCodec(rawValue: raw) {
        case .uncompressed: return "UNCOMPRESSED"
        case .snappy: return "SNAPPY"
        case .gzip: return "GZIP"
        case .lzo: return "LZO"
        case .brotli: return "BROTLI"
        case .lz4: return "LZ4"
        case .zstd: return "ZSTD"
        case .lz4Raw: return "LZ4_RAW"
        case nil: return "unknown codec \(raw)"
        }
    }
}

/// Value and level encodings (parquet.thrift `Encoding`).
enum ParquetEncoding {
    static let plain: Int32 = 0
    static let plainDictionary: Int32 = 2
    static let rle: Int32 = 3
    static let bitPacked: Int32 = 4
    static let rleDictionary: Int32 = 8

    static func name(_ raw: Int32) -> String {
        switch raw {
        case 0: return "PLAIN"
        case 2: return "PLAIN_DICTIONARY"
        case 3: return "RLE"
        case 4: return "BIT_PACKED"
        case 5: return "DELTA_BINARY_PACKED"
        case 6: return "DELTA_LENGTH_BYTE_ARRAY"
        case 7: return "DELTA_BYTE_ARRAY"
        case 8: return "RLE_DICTIONARY"
        case 9: return "BYTE_STREAM_SPLIT"
        default: return "unknown encoding \(raw)"
        }
    }
}

struct SchemaElement {
    var type: ParquetPhysicalType?
    var typeLength: Int32?
    var repetition: ParquetRepetition?
    var name = ""
    var numChildren: Int32?
    var convertedType: Int32?
    /// Which member of the LogicalType union is set (1 = STRING, 3 = LIST, ...).
    var logicalTypeID: Int16?
}

struct ColumnMetaData {
    var type: Int32 = -1
    var pathInSchema: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalCompressedSize: Int64 = -1
    var dataPageOffset: Int64 = -1
    var dictionaryPageOffset: Int64?
}

struct ColumnChunk {
    var filePath: String?
    var metaData: ColumnMetaData?
}

struct RowGroup {
    var columns: [ColumnChunk] = []
    var numRows: Int64 = -1
}

struct FileMetaData {
    var schema: [SchemaElement] = []
    var numRows: Int64 = -1
    var rowGroups: [RowGroup] = []
    var createdBy: String?
}

enum PageType: Int32 {
    case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

struct DataPageHeader {
    var numValues: Int32 = -1
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = ParquetEncoding.rle
    var repetitionLevelEncoding: Int32 = ParquetEncoding.rle
}

struct DataPageHeaderV2 {
    var numValues: Int32 = -1
    var numNulls: Int32 = 0
    var numRows: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelsByteLength: Int32 = -1
    var repetitionLevelsByteLength: Int32 = -1
    var isCompressed = true
}

struct DictionaryPageHeader {
    var numValues: Int32 = -1
    var encoding: Int32 = 0
}

struct PageHeader {
    var type: Int32 = -1
    var uncompressedPageSize: Int32 = -1
    var compressedPageSize: Int32 = -1
    var dataPageHeader: DataPageHeader?
    var dictionaryPageHeader: DictionaryPageHeader?
    var dataPageHeaderV2: DataPageHeaderV2?
}

// MARK: - Decoding from the Thrift compact protocol

extension ThriftCompactReader {
    /// Reads an i32 field, checking that the header announced an i32.
    mutating func i32(_ type: FieldType) throws -> Int32 {
        guard type == .i32 else { throw ParquetDecodeError("Thrift field of type \(type) where i32 was expected") }
        return try readI32()
    }

    mutating func i64(_ type: FieldType) throws -> Int64 {
        guard type == .i64 || type == .i32 else { throw ParquetDecodeError("Thrift field of type \(type) where i64 was expected") }
        return try readI64()
    }

    mutating func string(_ type: FieldType) throws -> String {
        guard type == .binary else { throw ParquetDecodeError("Thrift field of type \(type) where a string was expected") }
        return try readString()
    }

    mutating func bool(_ type: FieldType) throws -> Bool {
        guard type == .boolTrue || type == .boolFalse else { throw ParquetDecodeError("Thrift field of type \(type) where a boolean was expected") }
        return try readBoolField()
    }

    mutating func expectStruct(_ type: FieldType) throws {
        guard type == .structure else { throw ParquetDecodeError("Thrift field of type \(type) where a struct was expected") }
    }

    mutating func readFileMetaData() throws -> FileMetaData {
        var meta = FileMetaData()
        try readStruct { r, id, type in
            switch id {
            case 2: meta.schema = try r.readList(of: .structure) { try $0.readSchemaElement() }
            case 3: meta.numRows = try r.i64(type)
            case 4: meta.rowGroups = try r.readList(of: .structure) { try $0.readRowGroup() }
            case 6: meta.createdBy = try r.string(type)
            default: return false
            }
            return true
        }
        return meta
    }

    mutating func readSchemaElement() throws -> SchemaElement {
        var element = SchemaElement()
        try readStruct { r, id, type in
            switch id {
            case 1:
                let raw = try r.i32(type)
                guard let physical = ParquetPhysicalType(rawValue: raw) else { throw ParquetDecodeError("unknown physical type \(raw)") }
                element.type = physical
            case 2: element.typeLength = try r.i32(type)
            case 3:
                let raw = try r.i32(type)
                guard let repetition = ParquetRepetition(rawValue: raw) else { throw ParquetDecodeError("unknown repetition type \(raw)") }
                element.repetition = repetition
            case 4: element.name = try r.string(type)
            case 5: element.numChildren = try r.i32(type)
            case 6: element.convertedType = try r.i32(type)
            case 10:
                // LogicalType is a union: one struct field whose id names the logical type.
                try r.expectStruct(type)
                try r.readStruct { inner, innerID, innerType in
                    element.logicalTypeID = innerID
                    try inner.skip(innerType)
                    return true
                }
            default: return false
            }
            return true
        }
        return element
    }

    mutating func readRowGroup() throws -> RowGroup {
        var group = RowGroup()
        try readStruct { r, id, type in
            switch id {
            case 1: group.columns = try r.readList(of: .structure) { try $0.readColumnChunk() }
            case 3: group.numRows = try r.i64(type)
            default: return false
            }
            return true
        }
        return group
    }

    mutating func readColumnChunk() throws -> ColumnChunk {
        var chunk = ColumnChunk()
        try readStruct { r, id, type in
            switch id {
            case 1: chunk.filePath = try r.string(type)
            case 3:
                try r.expectStruct(type)
                chunk.metaData = try r.readColumnMetaData()
            default: return false
            }
            return true
        }
        return chunk
    }

    mutating func readColumnMetaData() throws -> ColumnMetaData {
        var meta = ColumnMetaData()
        try readStruct { r, id, type in
            switch id {
            case 1: meta.type = try r.i32(type)
            case 3: meta.pathInSchema = try r.readList(of: .binary) { try $0.readString() }
            case 4: meta.codec = try r.i32(type)
            case 5: meta.numValues = try r.i64(type)
            case 7: meta.totalCompressedSize = try r.i64(type)
            case 9: meta.dataPageOffset = try r.i64(type)
            case 11: meta.dictionaryPageOffset = try r.i64(type)
            default: return false
            }
            return true
        }
        return meta
    }

    mutating func readPageHeader() throws -> PageHeader {
        var header = PageHeader()
        try readStruct { r, id, type in
            switch id {
            case 1: header.type = try r.i32(type)
            case 2: header.uncompressedPageSize = try r.i32(type)
            case 3: header.compressedPageSize = try r.i32(type)
            case 5:
                try r.expectStruct(type)
                var page = DataPageHeader()
                try r.readStruct { p, pid, ptype in
                    switch pid {
                    case 1: page.numValues = try p.i32(ptype)
                    case 2: page.encoding = try p.i32(ptype)
                    case 3: page.definitionLevelEncoding = try p.i32(ptype)
                    case 4: page.repetitionLevelEncoding = try p.i32(ptype)
                    default: return false
                    }
                    return true
                }
                header.dataPageHeader = page
            case 7:
                try r.expectStruct(type)
                var page = DictionaryPageHeader()
                try r.readStruct { p, pid, ptype in
                    switch pid {
                    case 1: page.numValues = try p.i32(ptype)
                    case 2: page.encoding = try p.i32(ptype)
                    default: return false
                    }
                    return true
                }
                header.dictionaryPageHeader = page
            case 8:
                try r.expectStruct(type)
                var page = DataPageHeaderV2()
                try r.readStruct { p, pid, ptype in
                    switch pid {
                    case 1: page.numValues = try p.i32(ptype)
                    case 2: page.numNulls = try p.i32(ptype)
                    case 3: page.numRows = try p.i32(ptype)
                    case 4: page.encoding = try p.i32(ptype)
                    case 5: page.definitionLevelsByteLength = try p.i32(ptype)
                    case 6: page.repetitionLevelsByteLength = try p.i32(ptype)
                    case 7: page.isCompressed = try p.bool(ptype)
                    default: return false
                    }
                    return true
                }
                header.dataPageHeaderV2 = page
            default: return false
            }
            return true
        }
        return header
    }
}
