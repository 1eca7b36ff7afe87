import Foundation

extension MiniMindVLM {
    /// Rounds every weight matrix of the vision encoder, the projector and the language model to
    /// bfloat16 once (`BFloat16WeightCache`), for the products `Compute.precision = .bf16` runs: an
    /// unregistered weight is rounded again at every product that reads it (a quarter of a bf16
    /// image encoding's time). The vision encoder is not a child module of the VLM (its weights are
    /// not in the VLM's state dict), so it is named here. Call again after changing the weights: a
    /// product reads the registered copy, not the float32 values.
    public func storeBFloat16Weights() {
        BFloat16WeightCache.store(weightsOf: vision)
        BFloat16WeightCache.store(weightsOf: self)
    }
}
