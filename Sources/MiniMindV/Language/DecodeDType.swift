import Foundation

/// Precision of the weight copies the decode steps read (opt-in). Decode is memory-bound: every
/// token streams every weight once, so fewer bytes per weight is the way past the f32 floor.
/// Prefill, image encoding and training always use the float32 weights.
public enum DecodeDType: String, CaseIterable, Sendable {
    /// The float32 weights themselves (no copy).
    case f32
    /// bfloat16 copies (the upper 16 bits of each float32, rounded to nearest even): half the bytes.
    case bf16
    /// Blocks of 32 int8 values with one float32 scale each (Q8_0-style, symmetric): ~0.28 of the bytes.
    case int8
    /// Groups of 32 int4 values with one float32 scale each (symmetric): ~0.16 of the bytes. The
    /// scheme of int4 quantised model folders.
    case int4
}
