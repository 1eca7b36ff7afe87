/// Streams one column chunk of one row group page by page and hands out one row's value at a time.
/// Only the current page (and the chunk's dictionary) is held in memory.
final class ParquetColumnCursor {
    private let source: ParquetFileSource
    private let column: ParquetColumn
    private let codec: Int32
    private let limits: ParquetLimits
    /// Names the row group and column in error messages.
    private let context: String
    private var position: Int
    private let end: Int

    private var dictionary: ParquetValueBuffer?
    // The current data page, in column form.
    private var definitionLevels: [UInt32] = []
    private var repetitionLevels: [UInt32] = []
    private var values: ParquetValueBuffer = .int32([])
    private var entryCount = 0
    private var entryIndex = 0
    private var valueIndex = 0

    /// Entries (values and nulls) the chunk metadata declares; decoding more means corruption, and
    /// the bound stops a few bytes of RLE from expanding without end.
    private let declaredEntries: Int64
    private var decodedEntries: Int64 = 0

    init(source: ParquetFileSource, column: ParquetColumn, codec: Int32, declaredEntries: Int64, range: Range<Int>,
         limits: ParquetLimits, context: String) {
        self.source = source
        self.declaredEntries = declaredEntries
        self.column = column
        self.codec = codec
        self.limits = limits
        self.context = context
        position = range.lowerBound
        end = range.upperBound
    }

    // MARK: Rows

    /// The next row's value for this column, or nil when the chunk has no more values.
    func nextRow() throws -> ParquetValue? {
        guard try ensureEntry() else { return nil }
        if column.maxRepetitionLevel == 0 { return takeEntry() }
        guard repetitionLevels[entryIndex] == 0 else {
            throw corrupt("a row starts with repetition level \(repetitionLevels[entryIndex]) instead of 0")
        }
        let first = currentDefinitionLevel
        if first < column.listPresentLevel { _ = takeEntry(); return .null }
        if first < column.elementPresentLevel { _ = takeEntry(); return .list([]) }
        var items: [ParquetValue] = []
        repeat {
            guard currentDefinitionLevel >= column.elementPresentLevel else {
                throw corrupt("a repeated entry (definition level \(currentDefinitionLevel)) holds no list element")
            }
            items.append(takeEntry())
        } while try ensureEntry() && repetitionLevels[entryIndex] != 0
        return .list(items)
    }

    /// True while entries remain (used to check that a chunk holds no more rows than its row group).
    func hasMoreEntries() throws -> Bool { try ensureEntry() }

    private var currentDefinitionLevel: Int {
        column.maxDefinitionLevel == 0 ? 0 : Int(definitionLevels[entryIndex])
    }

    /// Consumes one entry: its value when fully defined, else null.
    private func takeEntry() -> ParquetValue {
        let defined = currentDefinitionLevel == column.maxDefinitionLevel
        entryIndex += 1
        guard defined else { return .null }
        valueIndex += 1
        return values.value(at: valueIndex - 1)
    }

    /// Makes sure an entry is available, loading pages as needed; false at the end of the chunk.
    private func ensureEntry() throws -> Bool {
        while entryIndex >= entryCount {
            guard try loadNextDataPage() else { return false }
        }
        return true
    }

    // MARK: Pages

    private func corrupt(_ message: String) -> ParquetError {
        .corrupt(path: source.path, context: context, message: message)
    }

    private func located(_ error: Error, _ where: String) -> Error {
        if let decode = error as? ParquetDecodeError { return decode.located(path: source.path, context: "\(context), \(`where`)") }
        return error
    }

    /// Reads the page header at `position`, growing the read window when the header is long.
    private func readPageHeader() throws -> (PageHeader, length: Int) {
        let remaining = end - position
        var window = min(remaining, 64 << 10)
        while true {
            let bytes = try source.read(offset: position, count: window)
            do {
                return try bytes.withUnsafeBytes { raw in
                    var reader = ThriftCompactReader(raw)
                    let header = try reader.readPageHeader()
                    return (header, reader.position)
                }
            } catch {
                let limit = min(remaining, limits.maxPageHeaderBytes)
                guard window < limit else { throw located(error, "page header at byte \(position)") }
                window = min(window * 4, limit)
            }
        }
    }

    /// Loads the next data page with at least one entry; reads the dictionary page on the way.
    private func loadNextDataPage() throws -> Bool {
        while position < end {
            let pageStart = position
            let (header, headerLength) = try readPageHeader()
            let compressed = Int(header.compressedPageSize)
            let uncompressed = Int(header.uncompressedPageSize)
            guard compressed >= 0, compressed <= end - pageStart - headerLength, compressed <= limits.maxPageBytes else {
                throw corrupt("page at byte \(pageStart) claims \(compressed) compressed bytes; the column chunk has \(end - pageStart - headerLength) left")
            }
            guard uncompressed >= 0, uncompressed <= limits.maxPageBytes else {
                throw corrupt("page at byte \(pageStart) claims \(uncompressed) uncompressed bytes (limit \(limits.maxPageBytes))")
            }
            let bodyStart = pageStart + headerLength
            position = bodyStart + compressed
            let place = "page at byte \(pageStart)"
            entryCount = 0
            entryIndex = 0
            do {
                switch PageType(rawValue: header.type) {
                case .dictionaryPage:
                    try readDictionaryPage(header, bodyStart: bodyStart)
                case .dataPage:
                    try readDataPageV1(header, bodyStart: bodyStart)
                    if entryCount > 0 { return true }
                case .dataPageV2:
                    try readDataPageV2(header, bodyStart: bodyStart)
                    if entryCount > 0 { return true }
                case .indexPage:
                    continue
                case nil:
                    throw ParquetDecodeError("unknown page type \(header.type)")
                }
            } catch {
                throw located(error, place)
            }
        }
        return false
    }

    private func checkedCount(_ raw: Int32, _ what: String) throws -> Int {
        guard raw >= 0, Int(raw) <= limits.maxValuesPerPage else {
            throw ParquetDecodeError("\(what) claims \(raw) values (limit \(limits.maxValuesPerPage))")
        }
        return Int(raw)
    }

    /// Data page entry counts must stay within the chunk's declared total.
    private func checkedEntryCount(_ raw: Int32, _ what: String) throws -> Int {
        let count = try checkedCount(raw, what)
        guard Int64(count) <= declaredEntries - decodedEntries else {
            throw ParquetDecodeError("\(what) holds \(count) entries; the column chunk declares \(declaredEntries) in all and \(decodedEntries) came before")
        }
        decodedEntries += Int64(count)
        return count
    }

    private func readDictionaryPage(_ header: PageHeader, bodyStart: Int) throws {
        guard let dictionaryHeader = header.dictionaryPageHeader else { throw ParquetDecodeError("dictionary page without its header") }
        guard dictionary == nil else { throw ParquetDecodeError("a second dictionary page in one column chunk") }
        guard dictionaryHeader.encoding == ParquetEncoding.plain || dictionaryHeader.encoding == ParquetEncoding.plainDictionary else {
            throw ParquetDecodeError(unsupported: "dictionary page encoding \(ParquetEncoding.name(dictionaryHeader.encoding))")
        }
        let count = try checkedCount(dictionaryHeader.numValues, "dictionary page")
        let body = try decompressedBody(header, bodyStart: bodyStart)
        dictionary = try ParquetPlainDecoder.decode(body, 0..<body.count, type: try physicalType(),
                                                    typeLength: column.typeLength, count: count)
    }

    private func physicalType() throws -> ParquetPhysicalType {
        guard let type = column.physicalType else { throw ParquetDecodeError(unsupported: "column '\(column.name)' of unsupported shape") }
        return type
    }

    private func decompressedBody(_ header: PageHeader, bodyStart: Int) throws -> [UInt8] {
        let raw = try source.read(offset: bodyStart, count: Int(header.compressedPageSize))
        return try raw.withUnsafeBytes { input in
            try ParquetDecompressor.decompress(input, codec: codec, uncompressedSize: Int(header.uncompressedPageSize))
        }
    }

    private func readDataPageV1(_ header: PageHeader, bodyStart: Int) throws {
        guard let page = header.dataPageHeader else { throw ParquetDecodeError("data page without its header") }
        let count = try checkedEntryCount(page.numValues, "data page")
        let body = try decompressedBody(header, bodyStart: bodyStart)
        try body.withUnsafeBytes { raw in
            var offset = 0
            // v1 pages: repetition then definition levels, each a 4-byte length plus RLE data.
            func levels(_ maxLevel: Int, encoding: Int32, into output: inout [UInt32]) throws {
                guard maxLevel > 0 else { output.removeAll(keepingCapacity: true); return }
                guard encoding == ParquetEncoding.rle else {
                    throw ParquetDecodeError(unsupported: "\(ParquetEncoding.name(encoding)) level encoding")
                }
                guard raw.count - offset >= 4 else { throw ParquetDecodeError("levels length ends early") }
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                offset += 4
                guard length <= raw.count - offset else {
                    throw ParquetDecodeError("levels claim \(length) bytes; \(raw.count - offset) are left in the page")
                }
                try ParquetRLEDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]),
                                             bitWidth: ParquetRLEDecoder.bitWidth(forMax: maxLevel), count: count,
                                             maxValue: UInt32(maxLevel), into: &output)
                offset += length
            }
            try levels(column.maxRepetitionLevel, encoding: page.repetitionLevelEncoding, into: &repetitionLevels)
            try levels(column.maxDefinitionLevel, encoding: page.definitionLevelEncoding, into: &definitionLevels)
            try decodeValues(body, offset..<body.count, encoding: page.encoding, entries: count)
        }
    }

    private func readDataPageV2(_ header: PageHeader, bodyStart: Int) throws {
        guard let page = header.dataPageHeaderV2 else { throw ParquetDecodeError("data page v2 without its header") }
        let count = try checkedEntryCount(page.numValues, "data page v2")
        let repLength = Int(page.repetitionLevelsByteLength), defLength = Int(page.definitionLevelsByteLength)
        let compressed = Int(header.compressedPageSize), uncompressed = Int(header.uncompressedPageSize)
        guard repLength >= 0, defLength >= 0, repLength + defLength <= compressed, repLength + defLength <= uncompressed else {
            throw ParquetDecodeError("level lengths \(repLength) + \(defLength) do not fit in the page of \(compressed) bytes")
        }
        // v2 pages: levels are never compressed and carry no length prefix; only the values may be.
        let raw = try source.read(offset: bodyStart, count: compressed)
        try raw.withUnsafeBytes { bytes in
            func levels(_ maxLevel: Int, _ range: Range<Int>, into output: inout [UInt32]) throws {
                guard maxLevel > 0 else { output.removeAll(keepingCapacity: true); return }
                try ParquetRLEDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[range]),
                                             bitWidth: ParquetRLEDecoder.bitWidth(forMax: maxLevel), count: count,
                                             maxValue: UInt32(maxLevel), into: &output)
            }
            try levels(column.maxRepetitionLevel, 0..<repLength, into: &repetitionLevels)
            try levels(column.maxDefinitionLevel, repLength..<(repLength + defLength), into: &definitionLevels)
            let valueRange = (repLength + defLength)..<compressed
            if page.isCompressed && codec != ParquetCodec.uncompressed.rawValue {
                let plain = try ParquetDecompressor.decompress(UnsafeRawBufferPointer(rebasing: bytes[valueRange]), codec: codec,
                                                               uncompressedSize: uncompressed - repLength - defLength)
                try decodeValues(plain, 0..<plain.count, encoding: page.encoding, entries: count)
            } else {
                try decodeValues(raw, valueRange, encoding: page.encoding, entries: count)
            }
        }
    }

    /// Decodes the values in `page[range]` for a page whose levels are already in place, then makes it current.
    private func decodeValues(_ page: [UInt8], _ range: Range<Int>, encoding: Int32, entries: Int) throws {
        var present = entries
        if column.maxDefinitionLevel > 0 {
            let full = UInt32(column.maxDefinitionLevel)
            present = 0
            for level in definitionLevels where level == full { present += 1 }
        }
        let type = try physicalType()
        if encoding == ParquetEncoding.plain {
            values = try ParquetPlainDecoder.decode(page, range, type: type, typeLength: column.typeLength, count: present)
        } else {
            values = try page.withUnsafeBytes { whole in
                try decodeEncodedValues(UnsafeRawBufferPointer(rebasing: whole[range]), encoding: encoding, type: type, count: present)
            }
        }
        guard values.count == present else {
            throw ParquetDecodeError("the page decodes \(values.count) values for \(present) defined entries")
        }
        entryCount = entries
        entryIndex = 0
        valueIndex = 0
    }

    /// Dictionary indices and RLE booleans.
    private func decodeEncodedValues(_ bytes: UnsafeRawBufferPointer, encoding: Int32, type: ParquetPhysicalType,
                                     count present: Int) throws -> ParquetValueBuffer {
        switch encoding {
        case ParquetEncoding.plainDictionary, ParquetEncoding.rleDictionary:
            guard let dictionary else { throw ParquetDecodeError("a dictionary-encoded page but no dictionary page") }
            var indices: [UInt32] = []
            if present > 0 {
                guard dictionary.count > 0 else { throw ParquetDecodeError("dictionary indices into an empty dictionary") }
                guard let bitWidth = bytes.first else { throw ParquetDecodeError("dictionary indices without a bit width") }
                try ParquetRLEDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[1...]), bitWidth: Int(bitWidth),
                                             count: present, maxValue: UInt32(dictionary.count - 1), into: &indices)
            }
            return .dictionary(indices: indices, dictionary: dictionary)
        case ParquetEncoding.rle where type == .boolean:
            // RLE booleans: a 4-byte length, then the hybrid encoding with bit width 1.
            var bits: [UInt32] = []
            if present > 0 {
                guard bytes.count >= 4 else { throw ParquetDecodeError("RLE booleans without a length") }
                let length = Int(bytes.loadUnaligned(as: UInt32.self).littleEndian)
                guard length <= bytes.count - 4 else { throw ParquetDecodeError("RLE booleans claim \(length) bytes; \(bytes.count - 4) are left") }
                try ParquetRLEDecoder.decode(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]), bitWidth: 1,
                                             count: present, maxValue: 1, into: &bits)
            }
            return .bool(bits.map { $0 == 1 })
        default:
            throw ParquetDecodeError(unsupported: "the \(ParquetEncoding.name(encoding)) value encoding")
        }
    }
}
