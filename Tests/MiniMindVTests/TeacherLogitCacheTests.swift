import Foundation
import TestSupport
import XCTest
@testable import MiniMindV

/// Distillation from a teacher's top-k logits (`TeacherTopK`, `TeacherLogitCache`): the loss against
/// an independent Double reference of its definition, the cache file's round trip and damage
/// handling, and the objective running the teacher once per row.
extension DistillationTests {
    func testTopKLossMatchesItsDoubleDefinitionAndTheDenseLossAtFullK() throws {
        var g = SplitMix64(state: 11)
        let rows = 5, vocab = 41
        let random = { (scale: Double) -> [Float] in
            (0..<(rows * vocab)).map { _ in Float((Double(g.next() % 20_001) / 10_000 - 1) * scale) }
        }
        let student = random(3), teacher = random(6)
        let targets = [3, -100, 40, 0, 7]
        let teacherTensor = Tensor(shape: [rows, vocab], data: teacher)
        // k = vocab keeps the whole distribution: the dense loss and gradient.
        for (t, a) in [(2.0, 0.4), (0.8, 1.0)] as [(Float, Float)] {
            let dense = Tensor(shape: [rows, vocab], data: student, requiresGrad: true)
            let want = distillationLoss(student: dense, teacher: teacherTensor, targets: targets, temperature: t, alpha: a)
            want.backward()
            let sparse = Tensor(shape: [rows, vocab], data: student, requiresGrad: true)
            let got = distillationLoss(student: sparse, teacher: TeacherTopK(of: teacherTensor, k: vocab), targets: targets,
                                       temperature: t, alpha: a)
            got.backward()
            XCTAssertEqual(got.item, want.item, accuracy: 2e-6 * max(1, abs(want.item)))
            XCTAssertLessThanOrEqual(worstDifference(try XCTUnwrap(sparse.grad).toArray(),
                                                     try XCTUnwrap(dense.grad).toArray().map(Double.init)), 1e-6)
        }
        // k = 6: the teacher's distribution is the softmax of its 6 largest logits, computed here in Double.
        let k = 6, temperature = 1.7, alpha = 0.7
        let top = TeacherTopK(of: teacherTensor, k: k)
        let s = Tensor(shape: [rows, vocab], data: student, requiresGrad: true)
        let loss = distillationLoss(student: s, teacher: top, targets: targets, temperature: Float(temperature), alpha: Float(alpha))
        loss.backward()
        let counted = targets.indices.filter { targets[$0] != -100 }, n = Double(counted.count)
        var wantLoss = 0.0, wantGrad = [Double](repeating: 0, count: rows * vocab)
        for r in counted {
            let row = (0..<vocab).map { Double(teacher[r * vocab + $0]) }
            let largest = Array(row.indices.sorted { row[$0] > row[$1] }.prefix(k))
            XCTAssertEqual(Set(largest), Set((0..<k).map { Int(top.ids[r * k + $0]) }), "row \(r)'s top \(k)")
            let z = largest.map { Foundation.exp(row[$0] / temperature) }.reduce(0, +)
            var p = [Double](repeating: 0, count: vocab)
            for j in largest { p[j] = Foundation.exp(row[j] / temperature) / z }
            let x = (0..<vocab).map { Double(student[r * vocab + $0]) }
            let lseT = Foundation.log(x.map { Foundation.exp($0 / temperature) }.reduce(0, +))
            let lse1 = Foundation.log(x.map { Foundation.exp($0) }.reduce(0, +))
            for j in 0..<vocab {
                let logQ = x[j] / temperature - lseT
                if p[j] > 0 { wantLoss += alpha * temperature * temperature * p[j] * (Foundation.log(p[j]) - logQ) / n }
                wantGrad[r * vocab + j] = alpha * temperature * (Foundation.exp(logQ) - p[j]) / n
                    + (1 - alpha) * (Foundation.exp(x[j] - lse1) - (j == targets[r] ? 1 : 0)) / n
            }
            wantLoss -= (1 - alpha) * (x[targets[r]] - lse1) / n
        }
        XCTAssertEqual(Double(loss.item), wantLoss, accuracy: 2e-6 * max(1, abs(wantLoss)))
        XCTAssertLessThanOrEqual(worstDifference(try XCTUnwrap(s.grad).toArray(), wantGrad), 1e-6)
    }

    func testTeacherCacheFilesRoundTripAndDamagedOnesAreMisses() throws {
        let (teacher, student, _) = try setup()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("teacher-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let cache = try TeacherLogitCache(root: root, teacher: teacher, k: 3)
        let rows = TeacherTopK(k: 3, ids: [5, 1, 0, 9, 2, 3], logits: [2.5, 1, -1, 0.5, 0.25, -7])
        try cache.store("row", rows)
        XCTAssertEqual(cache.load("row", rows: 2, vocab: 96), rows)
        XCTAssertNil(cache.load("row", rows: 3, vocab: 96), "another row count")
        XCTAssertNil(cache.load("row", rows: 2, vocab: 9), "an id beyond the vocabulary")
        XCTAssertNil(cache.load("absent", rows: 2, vocab: 96))
        let file = cache.directory.appendingPathComponent("row.topk")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 4).write(to: file)
        XCTAssertNil(cache.load("row", rows: 2, vocab: 96), "a short file")
        // Another k or another teacher never reads these files; the student is another teacher here.
        XCTAssertNotEqual(try TeacherLogitCache(root: root, teacher: teacher, k: 4).directory, cache.directory)
        XCTAssertNotEqual(try TeacherLogitCache(root: root, teacher: student, k: 3).directory, cache.directory)
        XCTAssertEqual(try TeacherLogitCache(root: root, teacher: teacher, k: 3).directory, cache.directory)
        for k in [0, 97] {
            XCTAssertThrowsError(try TeacherLogitCache(root: root, teacher: teacher, k: k)) {
                XCTAssertEqual(($0 as? InputRangeError)?.field, "TeacherLogitCache.topK")
            }
        }
    }

    /// The first pass over a batch runs the teacher and writes its rows; the second reads them
    /// (a teacher whose weights changed since would give another loss: it does not run).
    func testObjectiveRunsTheTeacherOncePerRow() throws {
        let (teacher, student, samples) = try setup()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("teacher-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let batch = TrainingBatch(Array(samples.prefix(3)))
        let counted = batch.targets.indices.filter { batch.targets[$0] != -100 }
        let vocab = teacher.language.embeddingTable.shape[0]
        let plain = try DistillationObjective(teacher: teacher, student: student, temperature: 2, alpha: 0.6)
        let dense = try plain.loss(batch, model: student, features: nil).item

        // k = vocab: the cached objective is the on-the-fly one.
        let full = try DistillationObjective(teacher: teacher, student: student, temperature: 2, alpha: 0.6,
                                             cache: try TeacherLogitCache(root: root, teacher: teacher, k: vocab))
        XCTAssertEqual(try full.loss(batch, model: student, features: nil).item, dense, accuracy: 1e-5 * max(1, abs(dense)))
        XCTAssertEqual(full.teacherPositions, counted.count)

        let k = 4
        let objective = try DistillationObjective(teacher: teacher, student: student, temperature: 2, alpha: 0.6,
                                                  cache: try TeacherLogitCache(root: root, teacher: teacher, k: k))
        let first = try objective.loss(batch, model: student, features: nil).item
        XCTAssertEqual([objective.teacherPositions, objective.cachedPositions], [counted.count, 0])
        // The same loss from the teacher's full logits cut to their top k here.
        let feats = try XCTUnwrap(try MiniMindVLM.visionFeatures(of: batch, features: nil))
        let logits = { (m: MiniMindVLM) -> Tensor in
            let l = noGrad { m.logits(ids: batch.ids, batch: batch.batch, images: m.project(feats), imagesPerSample: batch.imagesPerSample) }
            return indexSelect(l.reshaped([-1, l.shape[2]]), axis: 0, indices: counted)
        }
        let want = distillationLoss(student: logits(student), teacher: TeacherTopK(of: logits(teacher), k: k),
                                    targets: counted.map { batch.targets[$0] }, temperature: 2, alpha: 0.6)
        XCTAssertEqual(first, want.item, accuracy: 1e-5 * max(1, abs(want.item)))
        XCTAssertNotEqual(first, dense, "top-\(k) of \(vocab) is not the full distribution")

        for p in teacher.parameters() { p.mutablePointer.update(repeating: 0.5, count: p.count) }
        XCTAssertEqual(try objective.loss(batch, model: student, features: nil).item, first, "read from the cache, not the changed teacher")
        XCTAssertEqual([objective.teacherPositions, objective.cachedPositions], [counted.count, counted.count])
    }
}
