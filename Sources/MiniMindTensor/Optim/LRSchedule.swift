import Foundation

/// A learning rate for every (micro-)step t = 0, 1, 2, …; the trainer sets `optimizer.lr` from it
/// before each optimizer step. Conform to add your own.
public protocol LRSchedule: Sendable {
    func lr(at step: Int) -> Double
}

/// The same rate at every step.
public struct ConstantLR: LRSchedule {
    public var baseLR: Double
    public init(baseLR: Double) { self.baseLR = baseLR }
    public func lr(at step: Int) -> Double { baseLR }
}

/// The upstream MiniMind(-V) schedule (Docs/Model.md, "Recipes", `trainer_utils.get_lr`), no warmup:
/// `lr(t) = base · (0.1 + 0.45 · (1 + cos(π · t / T)))` — base at t = 0, base/10 at t = T.
public struct MiniMindCosineLR: LRSchedule {
    public var baseLR: Double
    public var totalSteps: Int

    public init(baseLR: Double, totalSteps: Int) {
        precondition(totalSteps > 0, "MiniMindCosineLR: totalSteps must be > 0, got \(totalSteps)")
        self.baseLR = baseLR
        self.totalSteps = totalSteps
    }

    public func lr(at step: Int) -> Double {
        baseLR * (0.1 + 0.45 * (1 + Foundation.cos(Double.pi * Double(step) / Double(totalSteps))))
    }
}

/// Linear warmup then cosine decay to `minLRRatio · base`, as transformers'
/// `get_cosine_schedule_with_warmup` (num_cycles 0.5, with `min_lr_rate`) computes it:
///   t < W:  lr = base · t / W                      (0 at t = 0)
///   t ≥ W:  p = (t − W) / max(1, T − W)
///           lr = base · max(0, r + (1 − r) · ½(1 + cos(π·p)))
/// so the rate reaches base at t = W and r·base at t = T. After T the cosine rises again, as upstream.
public struct WarmupCosineLR: LRSchedule {
    public var baseLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minLRRatio: Double

    public init(baseLR: Double, warmupSteps: Int, totalSteps: Int, minLRRatio: Double = 0) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps,
                     "WarmupCosineLR: need 0 <= warmupSteps <= totalSteps, got \(warmupSteps), \(totalSteps)")
        precondition(minLRRatio >= 0 && minLRRatio <= 1, "WarmupCosineLR: minLRRatio must be in [0, 1], got \(minLRRatio)")
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLRRatio = minLRRatio
    }

    public func lr(at step: Int) -> Double {
        if step < warmupSteps { return baseLR * (Double(step) / Double(Swift.max(1, warmupSteps))) }
        let progress = Double(step - warmupSteps) / Double(Swift.max(1, totalSteps - warmupSteps))
        let cosine = 0.5 * (1 + Foundation.cos(Double.pi * progress))
        return baseLR * Swift.max(0, cosine * (1 - minLRRatio) + minLRRatio)
    }
}
