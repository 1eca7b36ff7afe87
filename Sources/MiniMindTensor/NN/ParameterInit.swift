import Foundation

/// PyTorch's default initialisations, reproduced with our seeded generator (same distributions,
/// not the same numbers as torch's generator).
public enum ParameterInit {
    /// `kaiming_uniform_(w, a=√5)` gives bound = gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3),
    /// i.e. 1/√fan_in; PyTorch uses the same bound for the bias. Zero fan-in gives 0.
    public static func linearBound(fanIn: Int) -> Float {
        fanIn > 0 ? Float(1 / Double(fanIn).squareRoot()) : 0
    }
}
