import Foundation

/// Whether operations record themselves for `backward()`. Inference wraps work in `noGrad {}`.
/// The flag is per thread (as in PyTorch): a generation task running `noGrad` on another thread never
/// turns off recording for a training step on this one.
public enum GradMode {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// No value stored means the default, enabled.
    public static var isEnabled: Bool { pthread_getspecific(key) == nil }

    public static func with<T>(enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, enabled ? nil : UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, saved) }
        return try body()
    }
}

/// Runs `body` without recording operations for autograd.
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.with(enabled: false, body)
}

/// One recorded operation: its inputs and the closure that maps the output's gradient to theirs.
/// The closure returns nil for inputs that need no gradient, so no work is done for them.
public final class GradNode {
    public let name: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// True when a gradient must flow into this tensor: a trainable leaf or a recorded result.
    public var needsGrad: Bool { requiresGrad || gradFn != nil }

    /// Records `output = op(inputs)` when gradients are on and some input needs one.
    /// Ops call this after computing their forward result; `backward` receives dL/d(output).
    @discardableResult
    public static func record(_ name: String, output: Tensor, inputs: [Tensor],
                              backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        if GradMode.isEnabled, inputs.contains(where: { $0.needsGrad }) {
            output.gradFn = GradNode(name: name, inputs: inputs, backward: backward)
        }
        return output
    }

    /// Back-propagates from this scalar (or from `seed` = dL/d(self) for a non-scalar) into every
    /// leaf with `requiresGrad`, accumulating into `.grad`. The recorded graph is released after.
    ///
    /// `gradientReady`, when given, is called once for each such leaf of the graph as soon as its
    /// `.grad` is final for this pass — right after the last operation that reads the leaf has been
    /// back-propagated, not when the walk reaches the leaf (a Linear weight is reached only after
    /// everything below its input). Data-parallel training starts the gradient allreduce there
    /// (PyTorch DDP's gradient hooks). The gradients are the same bits with or without it.
    public func backward(seed: Tensor? = nil, gradientReady: ((Tensor) -> Void)? = nil) {
        if seed == nil {
            precondition(count == 1, "backward(): called on a tensor of shape \(shape); pass a seed for non-scalars")
        }
        let order = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed ?? Tensor.ones(shape)]
        // Per trainable leaf: the recorded operations still to run that read it.
        var readers = gradientReady == nil ? [:] : Self.leafReaders(order)
        for tensor in order.reversed() {
            guard let node = tensor.gradFn else {
                if let g = pending.removeValue(forKey: ObjectIdentifier(tensor)), tensor.requiresGrad { tensor.accumulateGrad(g) }
                continue
            }
            defer {
                // The node is done (or got no gradient): leaves it was the last reader of are final.
                if let gradientReady { Self.release(node, &readers, &pending, gradientReady) }
            }
            guard let g = pending.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
            let inputGrads = noGrad { node.backward(g) }
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard let ig, input.needsGrad else { continue }
                precondition(ig.shape == input.shape,
                             "backward(\(node.name)): gradient shape \(ig.shape) does not match input shape \(input.shape)")
                let key = ObjectIdentifier(input)
                if let existing = pending[key] { pending[key] = existing.adding(ig) } else { pending[key] = ig }
            }
        }
        for tensor in order { tensor.gradFn = nil; tensor.bfloat16Copy = nil }
    }

    /// How many times each trainable leaf appears among the inputs of the recorded operations.
    private static func leafReaders(_ order: [Tensor]) -> [ObjectIdentifier: Int] {
        var readers: [ObjectIdentifier: Int] = [:]
        for tensor in order {
            for input in tensor.gradFn?.inputs ?? [] where input.requiresGrad && input.gradFn == nil {
                readers[ObjectIdentifier(input), default: 0] += 1
            }
        }
        return readers
    }

    /// After `node` has run: counts it off each leaf it reads; a leaf with no readers left takes
    /// its pending gradient now (the sum the walk would add when reaching it) and is reported.
    private static func release(_ node: GradNode, _ readers: inout [ObjectIdentifier: Int],
                                _ pending: inout [ObjectIdentifier: Tensor], _ ready: (Tensor) -> Void) {
        for input in node.inputs where input.requiresGrad && input.gradFn == nil {
            let key = ObjectIdentifier(input)
            guard let left = readers[key] else { continue }
            if left > 1 { readers[key] = left - 1; continue }
            readers[key] = nil
            if let g = pending.removeValue(forKey: key) { input.accumulateGrad(g) }
            ready(input)
        }
    }

    /// Adds into `.grad`, copying on first write so a leaf never aliases another tensor's gradient.
    func accumulateGrad(_ g: Tensor) {
        if let existing = grad {
            Kernels.addInPlace(existing.mutablePointer, g.pointer, count: count)
        } else {
            grad = g.copy()
        }
    }

    public func zeroGrad() { grad = nil }

    /// Lets an op write a trainable leaf's gradient contribution straight into `.grad` instead of
    /// returning a fresh tensor for the engine to copy or add: `write(destination, beta)` must store
    /// beta · destination + contribution (beta 0 on the first write, 1 after, e.g. a GEMM's beta).
    /// Returns false when this tensor is not such a leaf; the op then returns its gradient as usual.
    func accumulateGradInPlace(_ write: (UnsafeMutablePointer<Float>, _ beta: Float) -> Void) -> Bool {
        guard requiresGrad && gradFn == nil else { return false }
        if let grad {
            write(grad.mutablePointer, 1)
        } else {
            let fresh = Tensor.uninitialized(shape)
            write(fresh.mutablePointer, 0)
            grad = fresh
        }
        return true
    }

    /// Depth-first post-order of the recorded graph below this tensor (inputs before outputs).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            let id = ObjectIdentifier(tensor)
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((tensor, true))
            for input in tensor.gradFn?.inputs ?? [] where input.needsGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }

    /// Out-of-place sum without recording (used by the engine to merge gradients), in one pass
    /// (a copy then an in-place add read and wrote the residual stream's gradient twice).
    func adding(_ other: Tensor) -> Tensor {
        let out = Tensor.uninitialized(shape)
        Kernels.binary(pointer, other.pointer, out.mutablePointer, count: count, SIMDFunctions.Add())
        return out
    }
}
