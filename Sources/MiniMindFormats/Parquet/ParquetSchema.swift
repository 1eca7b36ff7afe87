/// The file's schema as this reader sees it: one `ParquetColumn` per top-level field, each either
/// a primitive or a list of primitives, with the definition/repetition levels needed to rebuild rows.
public struct ParquetSchema: Sendable {
    public let columns: [ParquetColumn]
    /// Number of leaf columns in the file (the column chunks each row group holds).
    let leafCount: Int

    public func column(named name: String) -> ParquetColumn? {
        columns.first { $0.name == name }
    }
}

public struct ParquetColumn: Sendable, CustomStringConvertible {
    public enum Shape: Sendable, Equatable {
        /// One value (or null) per row.
        case scalar
        /// A list of values per row (3-level LIST, legacy 2-level list, or a bare repeated field).
        case list
        /// A nested shape this reader does not decode (structs, maps, lists of lists); the reason says which.
        case unsupported(String)
    }

    public let name: String
    public let shape: Shape
    /// The leaf's physical type (nil for unsupported shapes).
    public let physicalType: ParquetPhysicalType?
    /// True when the leaf is annotated as UTF-8 text (STRING logical type or UTF8 converted type).
    public let isString: Bool
    /// True when a row may hold null for this column.
    public let isNullable: Bool

    /// Index of the leaf column chunk in each row group.
    let leafIndex: Int
    let typeLength: Int
    let maxDefinitionLevel: Int
    let maxRepetitionLevel: Int
    /// For lists: the definition level at which the list itself is present (below it: null list).
    let listPresentLevel: Int
    /// For lists: the definition level at which an element exists (below it, at or above listPresentLevel: empty list).
    let elementPresentLevel: Int
    /// The dotted path of the leaf, as the column chunk metadata names it.
    let leafPath: [String]

    public var description: String {
        let type = physicalType.map { isString ? "STRING" : $0.description } ?? "?"
        switch shape {
        case .scalar: return "\(name): \(type)\(isNullable ? "?" : "")"
        case .list: return "\(name): [\(type)]\(isNullable ? "?" : "")"
        case .unsupported(let why): return "\(name): unsupported (\(why))"
        }
    }
}

extension ParquetSchema {
    /// Builds the schema from the flattened depth-first list of schema elements in the footer.
    static func build(_ elements: [SchemaElement]) throws -> ParquetSchema {
        guard let root = elements.first else { throw ParquetDecodeError("the schema has no elements") }
        guard let rootChildren = root.numChildren, rootChildren >= 0 else {
            throw ParquetDecodeError("the schema root has no child count")
        }
        var cursor = 1
        var leafIndex = 0
        var columns: [ParquetColumn] = []
        for _ in 0..<Int(rootChildren) {
            let node = try Node.parse(elements, &cursor, depth: 0)
            columns.append(try makeColumn(node, leafIndex: leafIndex))
            leafIndex += node.leafCount
        }
        guard cursor == elements.count else {
            throw ParquetDecodeError("the schema lists \(elements.count) elements but its tree uses \(cursor)")
        }
        return ParquetSchema(columns: columns, leafCount: leafIndex)
    }

    /// The schema tree rebuilt from the depth-first element list.
    private struct Node {
        let element: SchemaElement
        let children: [Node]
        var leafCount: Int { isGroup ? children.reduce(0) { $0 + $1.leafCount } : 1 }
        var isGroup: Bool { element.type == nil }
        var repetition: ParquetRepetition { element.repetition ?? .required }

        static func parse(_ elements: [SchemaElement], _ cursor: inout Int, depth: Int) throws -> Node {
            guard depth < 32 else { throw ParquetDecodeError("the schema nests deeper than 32 levels") }
            guard cursor < elements.count else { throw ParquetDecodeError("the schema tree needs more elements than the \(elements.count) listed") }
            let element = elements[cursor]
            cursor += 1
            let childCount = Int(element.numChildren ?? 0)
            guard childCount >= 0, childCount <= elements.count - cursor else {
                throw ParquetDecodeError("schema element '\(element.name)' claims \(childCount) children; \(elements.count - cursor) elements are left")
            }
            if element.type == nil && element.numChildren == nil {
                throw ParquetDecodeError("schema element '\(element.name)' has neither a type nor children")
            }
            var children: [Node] = []
            for _ in 0..<childCount { children.append(try parse(elements, &cursor, depth: depth + 1)) }
            return Node(element: element, children: children)
        }
    }

    private static func isStringAnnotated(_ element: SchemaElement) -> Bool {
        element.logicalTypeID == 1 || element.convertedType == 0
    }

    private static func isListAnnotated(_ element: SchemaElement) -> Bool {
        element.logicalTypeID == 3 || element.convertedType == 3
    }

    private static func makeColumn(_ node: Node, leafIndex: Int) throws -> ParquetColumn {
        let top = node.element
        func unsupported(_ why: String) -> ParquetColumn {
            ParquetColumn(name: top.name, shape: .unsupported(why), physicalType: nil, isString: false, isNullable: true,
                          leafIndex: leafIndex, typeLength: 0, maxDefinitionLevel: 0, maxRepetitionLevel: 0,
                          listPresentLevel: 0, elementPresentLevel: 0, leafPath: [])
        }
        func leafColumn(_ leaf: SchemaElement, shape: ParquetColumn.Shape, path: [String],
                        maxDef: Int, maxRep: Int, listPresent: Int, elementPresent: Int) -> ParquetColumn {
            ParquetColumn(name: top.name, shape: shape, physicalType: leaf.type, isString: isStringAnnotated(leaf),
                          isNullable: top.repetition == .optional,
                          leafIndex: leafIndex, typeLength: Int(leaf.typeLength ?? 0),
                          maxDefinitionLevel: maxDef, maxRepetitionLevel: maxRep,
                          listPresentLevel: listPresent, elementPresentLevel: elementPresent, leafPath: path)
        }
        let topRep = node.repetition
        let topDef = topRep == .required ? 0 : 1

        if !node.isGroup {
            if topRep == .repeated {
                // A bare repeated primitive: a list that is never null, elements never null.
                return leafColumn(top, shape: .list, path: [top.name], maxDef: 1, maxRep: 1, listPresent: 0, elementPresent: 1)
            }
            return leafColumn(top, shape: .scalar, path: [top.name], maxDef: topDef, maxRep: 0, listPresent: 0, elementPresent: 0)
        }
        guard topRep != .repeated else { return unsupported("a repeated group") }
        guard isListAnnotated(top) else { return unsupported("a struct group") }
        guard node.children.count == 1, let repeatedNode = node.children.first, repeatedNode.repetition == .repeated else {
            return unsupported("a LIST group without exactly one repeated child")
        }
        let elementPresent = topDef + 1
        if !repeatedNode.isGroup {
            // Legacy 2-level list: the repeated field is the element itself.
            return leafColumn(repeatedNode.element, shape: .list, path: [top.name, repeatedNode.element.name],
                              maxDef: elementPresent, maxRep: 1, listPresent: topDef, elementPresent: elementPresent)
        }
        guard repeatedNode.children.count == 1, let elementNode = repeatedNode.children.first, !elementNode.isGroup else {
            return unsupported("a list of groups")
        }
        guard elementNode.repetition != .repeated else { return unsupported("a list of repeated values") }
        let maxDef = elementPresent + (elementNode.repetition == .optional ? 1 : 0)
        return leafColumn(elementNode.element, shape: .list,
                          path: [top.name, repeatedNode.element.name, elementNode.element.name],
                          maxDef: maxDef, maxRep: 1, listPresent: topDef, elementPresent: elementPresent)
    }
}
