import Foundation
import MiniMindV

/// How `minimind-v serve` runs; every limit is checked before the server starts.
public struct ServerOptions: Sendable {
    /// Loopback by default: the server is reachable from other machines only when asked.
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port = 8080
    /// When set, `/v1/*` requires `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// The id clients give as `model` and `/v1/models` lists.
    public var modelName: String
    /// Most sequences decoded together.
    public var maxBatch = 8
    /// Most requests waiting beyond the batch; more get 429.
    public var maxQueue = 32
    /// Tokens per request (prompt + answer), at most the model's positions.
    public var context = 2048
    /// Most prompt tokens prefilled per scheduler step (a long prompt does not stall running streams).
    public var prefillChunk = 256
    /// Longest wait of an idle batch for requests the server has begun to read, so that a burst is
    /// prefilled in one step (`Scheduler`); 0 starts every step at once.
    public var burstGatherSeconds = 0.005
    /// Most prompt positions whose keys and values are kept for requests that begin alike
    /// (`PrefixCache`: the chat template's system turn, earlier turns of a chat); 0 turns it off.
    public var prefixCacheTokens = 4096
    /// A folder whose image files requests may name (`file://` or a path); nil = data URLs only.
    public var allowFiles: URL?
    public var maxBodyBytes = 32 << 20
    public var maxImageBytes = 16 << 20
    public var maxImagesPerRequest = 8
    /// Image sides and pixel count a request's image may declare.
    public var imageLimits = ImageDecodingLimits(maxSide: 8192, maxPixels: 8192 * 8192)
    /// Sampling for fields a request leaves out (upstream's evaluation settings).
    public var defaults = SamplingOptions()

    public init(modelName: String) { self.modelName = modelName }

    /// A message naming the option, the value and the allowed range, or nil when all are usable.
    public func problem() -> String? {
        if !(0...65535).contains(port) { return "--port must be in 0...65535, found \(port)" }
        if !(1...256).contains(maxBatch) { return "--max-batch must be in 1...256, found \(maxBatch)" }
        if !(0...100_000).contains(maxQueue) { return "--max-queue must be in 0...100000, found \(maxQueue)" }
        if context < 2 { return "--context must be at least 2, found \(context)" }
        if !(0...1_000_000).contains(prefixCacheTokens) {
            return "--prefix-cache must be in 0...1000000 tokens, found \(prefixCacheTokens)"
        }
        if !(0...10).contains(burstGatherSeconds) { return "the burst gather wait must be in 0...10 s, found \(burstGatherSeconds)" }
        if prefillChunk < 1 { return "the prefill chunk must be at least 1 token, found \(prefillChunk)" }
        if let apiKey, apiKey.isEmpty { return "--api-key must not be empty" }
        if modelName.isEmpty { return "the model name must not be empty" }
        if maxBodyBytes < 1024 { return "the body limit must be at least 1024 bytes, found \(maxBodyBytes)" }
        if maxImagesPerRequest < 0 { return "the image limit must be ≥ 0, found \(maxImagesPerRequest)" }
        return nil
    }
}
