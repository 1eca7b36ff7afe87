import Foundation

/// A teacher's k largest logits per row: `ids[r·k + j]` and `logits[r·k + j]`, j = 0 the largest.
/// What `distillationLoss(student:teacher:…)` reads when the teacher does not run on every step.
public struct TeacherTopK: Equatable {
    public let k: Int
    public let ids: [Int32]
    public let logits: [Float]
    public var rows: Int { k == 0 ? 0 : ids.count / k }

    public init(k: Int, ids: [Int32], logits: [Float]) {
        precondition(k > 0 && ids.count == logits.count && ids.count % k == 0,
                     "TeacherTopK: \(ids.count) ids and \(logits.count) logits are not rows of \(k)")
        self.k = k
        self.ids = ids
        self.logits = logits
    }

    /// The k largest entries of each row of `logits` [rows, vocab] (ties: the smaller id first).
    public init(of logits: Tensor, k: Int) {
        precondition(logits.rank == 2 && (1...logits.shape[1]).contains(k), "TeacherTopK: k \(k) for logits \(logits.shape)")
        let rows = logits.shape[0], vocab = logits.shape[1], p = logits.pointer
        var ids = [Int32](), values = [Float]()
        ids.reserveCapacity(rows * k)
        values.reserveCapacity(rows * k)
        for r in 0..<rows {
            let row = UnsafeBufferPointer(start: p + r * vocab, count: vocab)
            let top = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k)
            for j in top { ids.append(Int32(j)); values.append(row[j]) }
        }
        self.init(k: k, ids: ids, logits: values)
    }

    /// Rows `range` of this one.
    func rows(_ range: Range<Int>) -> TeacherTopK {
        TeacherTopK(k: k, ids: Array(ids[(range.lowerBound * k)..<(range.upperBound * k)]),
                    logits: Array(logits[(range.lowerBound * k)..<(range.upperBound * k)]))
    }
}

/// A distillation teacher's top-k logits kept on disk, written once per training row and read on
/// every later epoch instead of running the teacher: `<root>/<teacher identity>-k<k>/<row key>.topk`
/// (a 16-byte header "MMTK", rows, k as UInt32 little-endian, then rows·k UInt32 ids and rows·k
/// float32 logits). The identity hashes the teacher's configuration and every weight, so another
/// teacher never reads these; the row key hashes what the teacher's logits at a row depend on (its
/// ids up to the last counted target, the targets, and its images' vision features). Logits are kept
/// before the temperature, so one cache serves every T. Files are written atomically; a missing,
/// short or inconsistent file is a miss (the teacher runs again and rewrites it).
public final class TeacherLogitCache {
    public let directory: URL
    public let k: Int
    /// Largest k a cache accepts: beyond it the file is about the size of the dense logits.
    public static let topKRange: ClosedRange<Int> = 1...4096

    /// `k` is checked against `topKRange` and the teacher's vocabulary.
    public init(root: URL, teacher: MiniMindVLM, k: Int) throws {
        let vocab = teacher.language.embeddingTable.shape[0]
        try InputRange.check("TeacherLogitCache.topK", k, in: Self.topKRange.lowerBound...min(Self.topKRange.upperBound, vocab))
        self.k = k
        directory = root.appendingPathComponent("\(Self.identity(of: teacher))-k\(k)", isDirectory: true)
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TrainingDataError.unreadable(path: directory.path, reason: "cannot create the teacher cache folder: \(error.localizedDescription)")
        }
    }

    /// A hash of the teacher's configuration and of every tensor of its state (name, shape, values).
    public static func identity(of teacher: MiniMindVLM) -> String {
        var parts = ["config \(teacher.config)"]
        for (name, t) in teacher.stateDict() { parts.append("\(name) \(t.shape) " + FeatureCacheKey.hex(t)) }
        return FeatureCacheKey.hex(parts.joined(separator: "\n"))
    }

    /// The key of sample `b` of `batch`: its ids and targets up to its last counted target, and the
    /// vision features of its images (`features`: [images, tokens, width] in `batch.images` order).
    /// nil when the sample has no counted target.
    public static func rowKey(_ batch: TrainingBatch, sample b: Int, features: Tensor?) -> String? {
        let first = b * batch.length
        guard let last = (first..<(first + batch.length)).last(where: { batch.targets[$0] != TrainingSample.ignoreLabel }) else {
            return nil
        }
        var data = Data()
        let tokens = (first...last).flatMap { [Int32(truncatingIfNeeded: batch.ids[$0]), Int32(truncatingIfNeeded: batch.targets[$0])] }
        tokens.withUnsafeBytes { data.append(contentsOf: $0) }
        if let features, !batch.imagesPerSample[b].isEmpty {
            let perImage = features.count / max(1, features.shape[0])
            for i in batch.imagesPerSample[b] {
                data.append(UnsafeBufferPointer(start: features.pointer + i * perImage, count: perImage))
            }
        }
        return FeatureCacheKey.hex(data)
    }

    func url(_ key: String) -> URL { directory.appendingPathComponent(key + ".topk") }

    /// The cached rows for `key`, or nil when absent, unreadable, or not `rows` rows of this cache's
    /// k with ids below `vocab`.
    public func load(_ key: String, rows: Int, vocab: Int) -> TeacherTopK? {
        guard let data = try? Data(contentsOf: url(key)), data.count >= 16 else { return nil }
        return data.withUnsafeBytes { raw -> TeacherTopK? in
            let word = { (i: Int) in Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            guard UInt32(word(0)) == Self.magic, word(1) == rows, word(2) == k, rows > 0,
                  data.count == 16 + rows * k * 8 else { return nil }
            let n = rows * k
            var ids = [Int32](repeating: 0, count: n), logits = [Float](repeating: 0, count: n)
            for i in 0..<n {
                let id = raw.loadUnaligned(fromByteOffset: 16 + 4 * i, as: UInt32.self).littleEndian
                guard id < UInt32(vocab) else { return nil }
                ids[i] = Int32(id)
                logits[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 16 + 4 * (n + i), as: UInt32.self).littleEndian)
                guard logits[i].isFinite else { return nil }
            }
            return TeacherTopK(k: k, ids: ids, logits: logits)
        }
    }

    public func store(_ key: String, _ rows: TeacherTopK) throws {
        precondition(rows.k == k, "TeacherLogitCache.store: top-\(rows.k) rows in a top-\(k) cache")
        var data = Data(capacity: 16 + rows.ids.count * 8)
        for v in [Self.magic, UInt32(rows.rows), UInt32(k), 0] {
            withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
        }
        for id in rows.ids { withUnsafeBytes(of: UInt32(id).littleEndian) { data.append(contentsOf: $0) } }
        for x in rows.logits { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url(key), options: .atomic)
    }

    static let magic: UInt32 = 0x4B54_4D4D  // "MMTK" little-endian
}
