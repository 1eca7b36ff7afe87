import Foundation

/// bf16 mixed precision in `VLMTrainer` (`recipe.precision`, Docs/Distributed.md): the weights, the
/// gradients and AdamW's moments stay float32; the large products of the forward and backward passes
/// (Linear layers, the LM head) take bfloat16 inputs and accumulate in float32 (`Compute.precision`,
/// oneDNN on AMX / AVX512-BF16; float32 where the CPU has neither). Norms, softmax, the loss and
/// every reduction stay float32. Each weight matrix is rounded to bfloat16 once per optimizer step
/// (`BFloat16WeightCache`), not at each of its uses in the step.
extension VLMTrainer {
    /// Sets `Compute.precision` to the recipe's (for `run()`, or a custom loop over `loss`); the
    /// returned closure restores it and empties the weight cache.
    public func enterPrecision() -> () -> Void {
        let previous = Compute.precision
        Compute.precision = recipe.precision ?? .f32
        refreshBFloat16Weights(all: true)
        return {
            Compute.precision = previous
            BFloat16WeightCache.removeAll()
        }
    }

    /// Rounds the weight matrices to bfloat16 for the coming step: every matrix of the model at the
    /// start, the trained ones after each optimizer step (the frozen ones do not change).
    public func refreshBFloat16Weights(all: Bool = false) {
        guard Compute.effectivePrecision == .bf16 else { return }
        if all { model.storeBFloat16Weights() } else { BFloat16WeightCache.store(optimizer.parameters.filter { $0.shape.count == 2 }) }
    }
}
