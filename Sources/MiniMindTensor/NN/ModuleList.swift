import Foundation

/// An ordered list of modules registered under "0", "1", …, so a model's `layers` list yields keys
/// like `layers.3.self_attn.q_proj.weight`. Elements keep their concrete type for direct access.
public final class ModuleList<Element: Module>: Module, RandomAccessCollection {
    private var items: [Element] = []

    public init(_ modules: [Element] = []) {
        super.init()
        for m in modules { append(m) }
    }

    public func append(_ module: Element) {
        register(child: String(items.count), module)
        items.append(module)
    }

    public var startIndex: Int { items.startIndex }
    public var endIndex: Int { items.endIndex }
    public subscript(position: Int) -> Element { items[position] }
}
