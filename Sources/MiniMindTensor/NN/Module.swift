import Foundation

/// A trainable tensor owned by a module. Parameters are plain `Tensor`s: being trainable is
/// `requiresGrad == true`, so freezing a parameter is `requiresGrad = false` and autograd then skips
/// its gradient work. The alias documents intent in module code.
public typealias Parameter = Tensor

/// The base class of every layer and model. A module owns named parameters, buffers and child
/// modules, registered explicitly in the order a checkpoint lists them; a parameter's full name is
/// the dot-joined path of registration names, which is its checkpoint key
/// (`model.layers.3.self_attn.q_proj.weight`).
///
///     final class MLP: Module {
///         let up: Linear, down: Linear
///         init(dim: Int, hidden: Int, generator g: inout SeededGenerator) {
///             up = Linear(dim, hidden, bias: false, generator: &g)
///             down = Linear(hidden, dim, bias: false, generator: &g)
///             super.init()
///             register(child: "up_proj", up)
///             register(child: "down_proj", down)
///         }
///     }
///
/// Ordering follows PyTorch: a module's own parameters, then its own buffers, then its children
/// depth-first. Registering the same tensor twice (tied weights) is allowed; `namedParameters`
/// lists it once under its first name while `stateDict` lists every key, as PyTorch does.
open class Module {
    /// Training mode (dropout on); set for the whole tree with `train()` / `eval()`.
    public private(set) var isTraining = true

    private var ownParameters: [(name: String, tensor: Tensor)] = []
    private var ownBuffers: [(name: String, tensor: Tensor, persistent: Bool)] = []
    private var ownChildren: [(name: String, module: Module)] = []

    public init() {}

    // MARK: registration

    /// Registers `module` under `name` (one key component: no dots) and returns it.
    @discardableResult
    public func register<M: Module>(child name: String, _ module: M) -> M {
        checkNewName(name)
        precondition(module !== self, "Module.register(child:): '\(name)' cannot be the module itself")
        ownChildren.append((name, module))
        module.train(isTraining)
        return module
    }

    /// Registers `module` without a name of its own: its parameters, buffers and children keep their
    /// keys, as if registered here. A model built from parts uses it so that the parts' keys are the
    /// release layout's (`model.*`, `lm_head.*` of a language model inside a VLM).
    @discardableResult
    public func register<M: Module>(inlined module: M) -> M {
        precondition(module !== self, "Module.register(inlined:): a module cannot inline itself")
        ownChildren.append(("", module))
        module.train(isTraining)
        return module
    }

    /// Swaps the child registered under `name` for `module` (same key path, so the state dict keeps
    /// its keys): how a layer is replaced by one with another kernel, e.g. a packed decode linear.
    public func replace(child name: String, with module: Module) {
        guard let i = ownChildren.firstIndex(where: { $0.name == name && !name.isEmpty }) else {
            preconditionFailure("Module.replace(child:): no child '\(name)' in \(type(of: self))")
        }
        module.train(isTraining)
        ownChildren[i] = (name, module)
    }

    /// Registers a parameter under `name`; it becomes trainable (`requiresGrad = true`) unless
    /// `trainable` is false. Returns the tensor.
    @discardableResult
    public func register(parameter name: String, _ tensor: Tensor, trainable: Bool = true) -> Parameter {
        checkNewName(name)
        precondition(tensor.gradFn == nil, "Module.register(parameter:): '\(name)' must be a leaf tensor, not an op result")
        tensor.requiresGrad = trainable
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers a non-trainable tensor (e.g. RoPE tables). Persistent buffers are part of
    /// `stateDict()` and of strict loading; non-persistent ones are not.
    @discardableResult
    public func register(buffer name: String, _ tensor: Tensor, persistent: Bool = true) -> Tensor {
        checkNewName(name)
        tensor.requiresGrad = false
        ownBuffers.append((name, tensor, persistent))
        return tensor
    }

    private func checkNewName(_ name: String) {
        precondition(!name.isEmpty && !name.contains("."),
                     "Module.register: name '\(name)' must be non-empty and contain no '.'")
        let taken = ownParameters.contains { $0.name == name } || ownBuffers.contains { $0.name == name }
            || ownChildren.contains { $0.name == name }
        precondition(!taken, "Module.register: '\(name)' is already registered in \(type(of: self))")
    }

    // MARK: traversal

    /// Direct children in registration order.
    public var children: [(String, Module)] { ownChildren.map { ($0.name, $0.module) } }

    /// This module (name "") and every descendant with its full key prefix, depth-first.
    public func namedModules() -> [(String, Module)] {
        var out: [(String, Module)] = []
        var seen = Set<ObjectIdentifier>()
        visit(prefix: "") { prefix, module in
            if seen.insert(ObjectIdentifier(module)).inserted { out.append((prefix, module)) }
        }
        return out
    }

    /// The descendant at a dotted path ("model.layers.3"), or nil.
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for component in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let next = current.child(named: String(component)) else { return nil }
            current = next
        }
        return current
    }

    /// The direct child `name`, looking through inlined children too.
    private func child(named name: String) -> Module? {
        if let found = ownChildren.first(where: { $0.name == name })?.module { return found }
        for c in ownChildren where c.name.isEmpty {
            if let found = c.module.child(named: name) { return found }
        }
        return nil
    }

    /// Every parameter with its checkpoint key, each tensor once (first name wins for tied weights).
    /// `trainableOnly` keeps those with `requiresGrad` — what an optimizer should receive.
    public func namedParameters(trainableOnly: Bool = false) -> [(String, Parameter)] {
        var seen = Set<ObjectIdentifier>()
        return allNamedParameters().filter { _, t in
            (!trainableOnly || t.requiresGrad) && seen.insert(ObjectIdentifier(t)).inserted
        }
    }

    public func parameters(trainableOnly: Bool = false) -> [Parameter] {
        namedParameters(trainableOnly: trainableOnly).map { $0.1 }
    }

    /// Number of scalar parameters (tied tensors counted once).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        namedParameters(trainableOnly: trainableOnly).reduce(0) { $0 + $1.1.count }
    }

    /// Every buffer (persistent or not) with its full key.
    public func namedBuffers() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        visit(prefix: "") { prefix, module in
            for b in module.ownBuffers { out.append((Module.join(prefix, b.name), b.tensor)) }
        }
        return out
    }

    /// All parameter keys including aliases of tied tensors, in registration order.
    func allNamedParameters() -> [(String, Parameter)] {
        var out: [(String, Parameter)] = []
        visit(prefix: "") { prefix, module in
            for p in module.ownParameters { out.append((Module.join(prefix, p.name), p.tensor)) }
        }
        return out
    }

    /// Parameters and persistent buffers in PyTorch `state_dict()` order (all keys, tied ones too).
    func stateEntries() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        visit(prefix: "") { prefix, module in
            for p in module.ownParameters { out.append((Module.join(prefix, p.name), p.tensor)) }
            for b in module.ownBuffers where b.persistent { out.append((Module.join(prefix, b.name), b.tensor)) }
        }
        return out
    }

    /// Pre-order walk: this module, then each child subtree in registration order.
    func visit(prefix: String, _ body: (String, Module) -> Void) {
        body(prefix, self)
        for c in ownChildren { c.module.visit(prefix: Module.join(prefix, c.name), body) }
    }

    static func join(_ prefix: String, _ name: String) -> String {
        prefix.isEmpty ? name : name.isEmpty ? prefix : prefix + "." + name
    }

    // MARK: mode

    /// Sets training mode on this module and every descendant.
    public func train(_ on: Bool = true) {
        visit(prefix: "") { _, module in module.isTraining = on }
    }

    /// Evaluation mode (dropout off) for this module and every descendant.
    public func eval() { train(false) }
}
