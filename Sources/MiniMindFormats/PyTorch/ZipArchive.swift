/// Minimal reader for the zip archives `torch.save` writes: central directory, STORED entries,
/// ZIP64 extra fields and end records. Compressed entries are listed but refused when read.
/// CRCs are not verified: entries are sliced from the memory map without touching their bytes.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let store: ByteStore
    let path: String
    let entries: [Entry]
    private let byName: [String: Int]

    init(store: ByteStore, path: String) throws {
        self.store = store
        self.path = path
        let r = ByteReader(bytes: store.buffer, path: path, format: "zip (torch.save)")
        let eocd = try ZipArchive.findEndRecord(r)
        var count = Int(try r.u16(eocd + 10))
        var cdSize = Int(try r.u32(eocd + 12))
        var cdOffset = Int(try r.u32(eocd + 16))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64: the locator sits right before the classic end record.
            let locator = eocd - 20
            guard locator >= 0, try r.u32(locator) == 0x0706_4B50 else { throw r.fail("ZIP64 end-of-central-directory locator missing") }
            let record = try ZipArchive.int(r.u64(locator + 8), r, "ZIP64 end record offset")
            guard try r.u32(record) == 0x0606_4B50 else { throw r.fail("ZIP64 end-of-central-directory record missing at byte \(record)") }
            count = try ZipArchive.int(r.u64(record + 32), r, "ZIP64 entry count")
            cdSize = try ZipArchive.int(r.u64(record + 40), r, "ZIP64 central directory size")
            cdOffset = try ZipArchive.int(r.u64(record + 48), r, "ZIP64 central directory offset")
        }
        try r.check(cdOffset, cdSize, "central directory")
        guard count <= cdSize / 46 else { throw r.fail("central directory of \(cdSize) bytes cannot hold \(count) entries") }

        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var p = cdOffset
        for i in 0..<count {
            guard try r.u32(p) == 0x0201_4B50 else { throw r.fail("central directory entry \(i) has a bad signature at byte \(p)") }
            let method = try r.u16(p + 10)
            var compressed = Int(try r.u32(p + 20))
            var size = Int(try r.u32(p + 24))
            let nameLength = Int(try r.u16(p + 28)), extraLength = Int(try r.u16(p + 30)), commentLength = Int(try r.u16(p + 32))
            var local = Int(try r.u32(p + 42))
            let name = String(decoding: try r.slice(p + 46, nameLength, "entry name"), as: UTF8.self)
            // ZIP64 extra field (id 1): 64-bit values for whichever 32-bit fields are saturated.
            var q = p + 46 + nameLength
            let extraEnd = q + extraLength
            try r.check(q, extraLength, "extra field of '\(name)'")
            while q + 4 <= extraEnd {
                let id = try r.u16(q), length = Int(try r.u16(q + 2))
                guard q + 4 + length <= extraEnd else { throw r.fail("extra field of '\(name)' overruns its record") }
                if id == 1 {
                    var f = q + 4
                    func next() throws -> Int {
                        guard f + 8 <= q + 4 + length else { throw r.fail("ZIP64 extra field of '\(name)' is too short") }
                        defer { f += 8 }
                        return try ZipArchive.int(r.u64(f), r, "ZIP64 field of '\(name)'")
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if local == 0xFFFF_FFFF { local = try next() }
                }
                q += 4 + length
            }
            entries.append(Entry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: local))
            p = extraEnd + commentLength
        }
        self.entries = entries
        var byName: [String: Int] = [:]
        for (i, e) in entries.enumerated() where byName[e.name] == nil { byName[e.name] = i }
        self.byName = byName
    }

    func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The entry's bytes as a (store, offset, length) slice, validated against the file size.
    func dataRange(_ e: Entry) throws -> (offset: Int, length: Int) {
        let r = ByteReader(bytes: store.buffer, path: path, format: "zip (torch.save)")
        guard e.method == 0 else {
            throw CheckpointError.unsupported(path: path, format: "zip", reason: "entry '\(e.name)' is compressed (method \(e.method)); torch.save stores entries uncompressed — re-save the file with torch.save")
        }
        guard e.compressedSize == e.size else { throw r.fail("stored entry '\(e.name)' has compressed size \(e.compressedSize) ≠ size \(e.size)") }
        guard try r.u32(e.localHeaderOffset) == 0x0403_4B50 else { throw r.fail("local header of '\(e.name)' missing at byte \(e.localHeaderOffset)") }
        let start = e.localHeaderOffset + 30 + Int(try r.u16(e.localHeaderOffset + 26)) + Int(try r.u16(e.localHeaderOffset + 28))
        try r.check(start, e.size, "data of entry '\(e.name)'")
        return (start, e.size)
    }

    func bytes(_ e: Entry) throws -> UnsafeRawBufferPointer {
        let (o, n) = try dataRange(e)
        return UnsafeRawBufferPointer(rebasing: store.buffer[o..<(o + n)])
    }

    private static func findEndRecord(_ r: ByteReader) throws -> Int {
        let n = r.bytes.count
        guard n >= 22 else { throw r.fail("file is \(n) bytes, too short for a zip archive") }
        var p = n - 22
        let lowest = max(0, n - 22 - 0xFFFF)
        while p >= lowest {
            if try r.u32(p) == 0x0605_4B50 { return p }
            p -= 1
        }
        throw r.fail("no end-of-central-directory record (not a zip archive, or truncated)")
    }

    private static func int(_ v: UInt64, _ r: ByteReader, _ what: String) throws -> Int {
        guard v <= UInt64(Int.max / 2) else { throw r.fail("\(what) \(v) is out of range") }
        return Int(v)
    }
}
