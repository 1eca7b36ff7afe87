import Foundation

/// Knowledge-distillation loss of student logits against teacher logits, both [rows, vocab]:
///
///     α · T² · mean_r KL(softmax(teacher_r / T) ‖ softmax(student_r / T)) + (1 − α) · mean_r CE(student_r, target_r)
///
/// over the rows whose target is not `ignoreIndex` (the assistant tokens); both means divide by
/// that count (PyTorch: `F.kl_div(log_softmax(s/T), log_softmax(t/T), log_target=True)` summed over
/// the vocabulary per row, masked mean, times T²). The T² keeps the soft term's gradient on the
/// scale of the label term's as T grows (Hinton et al.). The teacher is a constant (no gradient).
///
/// Built from existing autograd ops, so the gradient is exact: the KL's teacher-only part
/// Σ p log p is a number, and the rest is −Σ p_teacher · logSoftmax(student / T), whose gradient
/// through logSoftmax is (p_student − p_teacher) / T per row.
public func distillationLoss(student: Tensor, teacher: Tensor, targets: [Int], temperature: Float, alpha: Float,
                             ignoreIndex: Int = TrainingSample.ignoreLabel) -> Tensor {
    precondition(student.rank == 2 && student.shape == teacher.shape,
                 "distillationLoss: student \(student.shape) and teacher \(teacher.shape) must be the same [rows, vocab]")
    precondition(targets.count == student.shape[0], "distillationLoss: \(targets.count) targets for \(student.shape[0]) rows")
    let counted = targets.indices.filter { targets[$0] != ignoreIndex }
    return softTargetLoss(student: student, targets: targets, counted: counted, temperature: temperature, alpha: alpha,
                          ignoreIndex: ignoreIndex) {
        let t = counted.count == targets.count ? teacher : indexSelect(teacher, axis: 0, indices: counted)
        let logP = logSoftmax(t * (1 / temperature))
        let p = logP.exp()
        let lp = logP.pointer, pp = p.pointer
        var sum = 0.0  // Σ p log p over every row (p = 0 contributes 0, as the limit says)
        for i in 0..<p.count where pp[i] > 0 { sum += Double(pp[i]) * Double(lp[i]) }
        return (p, sum)
    }
}

/// The same loss against a teacher known only by its `k` largest logits per row (`TeacherTopK`, as a
/// `TeacherLogitCache` keeps them): the teacher's distribution is the softmax of those k logits at
/// temperature T, renormalised over them (the rest of the vocabulary gets probability 0), so
/// k = vocab is exactly the dense loss. `teacher` has one row per student row; ignored rows' entries
/// are not read.
public func distillationLoss(student: Tensor, teacher: TeacherTopK, targets: [Int], temperature: Float, alpha: Float,
                             ignoreIndex: Int = TrainingSample.ignoreLabel) -> Tensor {
    precondition(student.rank == 2 && teacher.rows == student.shape[0] && teacher.k <= student.shape[1],
                 "distillationLoss: student \(student.shape) and teacher top-\(teacher.k) of \(teacher.rows) rows do not match")
    precondition(targets.count == student.shape[0], "distillationLoss: \(targets.count) targets for \(student.shape[0]) rows")
    let counted = targets.indices.filter { targets[$0] != ignoreIndex }
    let vocab = student.shape[1]
    return softTargetLoss(student: student, targets: targets, counted: counted, temperature: temperature, alpha: alpha,
                          ignoreIndex: ignoreIndex) {
        let p = Tensor.zeros([counted.count, vocab])
        let pp = p.mutablePointer
        var sum = 0.0
        for (r, row) in counted.enumerated() {
            let first = row * teacher.k
            let scaled = (0..<teacher.k).map { Double(teacher.logits[first + $0]) / Double(temperature) }
            let top = scaled.max() ?? 0
            let lse = top + Foundation.log(scaled.reduce(0) { $0 + Foundation.exp($1 - top) })
            for j in 0..<teacher.k {
                let logP = scaled[j] - lse
                pp[r * vocab + Int(teacher.ids[first + j])] = Float(Foundation.exp(logP))
                sum += Foundation.exp(logP) * logP
            }
        }
        return (p, sum)
    }
}

/// α·T²·(Σ p log p − Σ p·logSoftmax(s/T)) / N + (1 − α)·CE over the counted rows, given the teacher's
/// probabilities [counted, vocab] and Σ p log p (`teacherSide`, run only when the soft term counts).
private func softTargetLoss(student: Tensor, targets: [Int], counted: [Int], temperature: Float, alpha: Float,
                            ignoreIndex: Int, teacherSide: () -> (Tensor, Double)) -> Tensor {
    precondition(temperature > 0 && temperature.isFinite && (0...1).contains(alpha),
                 "distillationLoss: temperature \(temperature) must be > 0 and alpha \(alpha) in 0…1 (callers check user values)")
    let ce = { crossEntropy(logits: student, targets: targets, ignoreIndex: ignoreIndex) }
    guard alpha > 0, !counted.isEmpty else { return alpha == 0 ? ce() : ce() * (1 - alpha) }
    let s = counted.count == targets.count ? student : indexSelect(student, axis: 0, indices: counted)
    let (pTeacher, negEntropy) = noGrad(teacherSide)
    let scale = alpha * temperature * temperature / Float(counted.count)
    // KL summed over rows = Σ p log p − Σ p · logSoftmax(s / T).
    let cross = (logSoftmax(s * (1 / temperature)) * pTeacher).sum()
    let soft = cross * (-scale) + Float(Double(scale) * negEntropy)
    return alpha == 1 ? soft : soft + ce() * (1 - alpha)
}
