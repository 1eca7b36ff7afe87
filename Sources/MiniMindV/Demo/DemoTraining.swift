// The demo's optimisation loop: AdamW over the trainable tensors, grad-norm clip 1.0, the
// upstream cosine schedule (base → base/10), a loss curve sampled every step.
import Foundation

/// A loss curve: one (step, loss) point per optimizer step.
public struct DemoCurve: Sendable {
    public var name: String
    public var losses: [Float] = []
    public var validation: [(step: Int, loss: Float)] = []
    public init(name: String) { self.name = name }
}

enum DemoTrainLoop {
    /// Runs `steps` updates; `loss(step)` builds a batch and returns its scalar loss (with graph).
    static func run(_ name: String, parameters: [(String, Tensor)], steps: Int, baseLR: Double, weightDecay: Double = 0.01,
                    progress: DemoProgress?, validate: ((Int) -> Float)? = nil, every: Int = 0,
                    loss: (Int) -> Tensor) -> DemoCurve {
        var curve = DemoCurve(name: name)
        let optimizer = AdamW(parameters: parameters, lr: baseLR, weightDecay: weightDecay)
        let schedule = MiniMindCosineLR(baseLR: baseLR, totalSteps: max(steps, 1))
        let trainable = parameters.map { $0.1 }
        progress?.start(name, total: steps, unit: "steps")
        var smooth: Float = 0
        var forward = 0.0, backward = 0.0, update = 0.0  // where the time goes, for the summary line
        for step in 0..<steps {
            optimizer.lr = schedule.lr(at: step)
            let t0 = DemoProgress.now
            let l = loss(step)
            let t1 = DemoProgress.now
            l.backward()
            let t2 = DemoProgress.now
            _ = clipGradNorm(trainable, maxNorm: 1)
            optimizer.step()
            optimizer.zeroGrad()
            let t3 = DemoProgress.now
            forward += t1 - t0
            backward += t2 - t1
            update += t3 - t2
            let value = l.item
            curve.losses.append(value)
            smooth = step == 0 ? value : 0.9 * smooth + 0.1 * value
            var note = String(format: "loss %.3f", smooth)
            if let validate, every > 0, (step + 1) % every == 0 || step + 1 == steps {
                curve.validation.append((step + 1, validate(step + 1)))
            }
            if let last = curve.validation.last { note += String(format: ", validation loss %.3f (step %d)", last.loss, last.step) }
            progress?.update(step + 1, note: note)
        }
        progress?.finish(String(format: "final loss %.3f (forward %.1f s, backward %.1f s, update %.1f s)",
                                smooth, forward, backward, update))
        return curve
    }
}
