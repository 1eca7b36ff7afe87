import Foundation

/// A pickle interpreter for torch checkpoints. It knows the opcodes of protocols 2–5 that
/// `torch.save` and plain containers produce, and only the globals in `PickleGlobal`: anything else
/// is refused by name at the GLOBAL opcode, so no foreign code path is ever reached.
///
/// Containers are reference boxes while running (pickle mutates memoised dicts and lists in
/// place); the result is converted into a `PickleValue` tree with limits on depth and node count,
/// and every box is emptied afterwards so hostile nesting can neither recurse deeply nor leak.
final class PickleMachine {
    /// Bytes of one persistent storage, as a 1-D tensor of `numel` elements.
    typealias StorageLoader = (_ key: String, _ dtype: DType, _ numel: Int) throws -> TensorData

    static let maxDepth = 256

    private let code: UnsafeRawBufferPointer
    private let path: String
    private let loadStorage: StorageLoader
    private var pos = 0
    private var stack: [Value] = []
    private var marks: [Int] = []
    private var memo: [Int: Value] = [:]
    private var boxes: [Box] = []
    /// Bytes copied to materialise non-contiguous views; bounded so a stride-0 view over a tiny
    /// storage cannot request terabytes.
    private var copyBudget: Int

    init(code: UnsafeRawBufferPointer, path: String, copyBudget: Int, loadStorage: @escaping StorageLoader) {
        self.code = code
        self.path = path
        self.copyBudget = copyBudget
        self.loadStorage = loadStorage
    }

    // MARK: values while running

    final class Box {
        enum Kind { case list, tuple, dict }
        let kind: Kind
        var items: [Value] = []      // list/tuple items, or dict values
        var keys: [Value] = []       // dict keys
        var index: [HashKey: Int] = [:]
        init(_ kind: Kind) { self.kind = kind }
    }

    enum HashKey: Hashable { case string(String), int(Int64) }

    enum Value {
        case none, bool(Bool), int(Int64), bigInt([UInt8]), float(Double), string(String), bytes(Data)
        case box(Box)
        case global(PickleGlobal)
        case storage(TensorData)
        case tensor(TensorData)

        var kindName: String {
            switch self {
            case .none: return "None"
            case .bool: return "bool"
            case .int, .bigInt: return "int"
            case .float: return "float"
            case .string: return "str"
            case .bytes: return "bytes"
            case let .box(b): return "\(b.kind)"
            case let .global(g): return g.qualifiedName
            case .storage: return "storage"
            case .tensor: return "tensor"
            }
        }
    }

    func fail(_ reason: String) -> CheckpointError {
        .malformed(path: path, format: "pickle (data.pkl)", reason: reason)
    }

    // MARK: running

    func run() throws -> PickleValue {
        defer {
            // Empty every container so releasing them never recurses through deep or cyclic nesting.
            for b in boxes { b.items = []; b.keys = []; b.index = [:] }
            boxes = []; stack = []; memo = [:]
        }
        while true {
            let opAt = pos
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: _ = try take(8)                                  // FRAME (length only)
            case 0x2E:                                                  // STOP
                guard let top = stack.last else { throw fail("STOP with an empty stack") }
                var budget = max(1 << 16, code.count * 4)
                return try convert(top, depth: 0, budget: &budget)
            case 0x28: marks.append(stack.count)                        // MARK
            case 0x7D: push(.box(newBox(.dict)))                        // EMPTY_DICT
            case 0x5D: push(.box(newBox(.list)))                        // EMPTY_LIST
            case 0x29: push(.box(newBox(.tuple)))                       // EMPTY_TUPLE
            case 0x4E: push(.none)
            case 0x88: push(.bool(true))
            case 0x89: push(.bool(false))
            case 0x4B: push(.int(Int64(try byte())))                    // BININT1
            case 0x4D: push(.int(Int64(try uint(2))))                   // BININT2
            case 0x4A: push(.int(Int64(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x8A: push(try long(Int(try byte())))                  // LONG1
            case 0x8B:                                                  // LONG4
                let n = Int32(truncatingIfNeeded: try uint(4))
                guard n >= 0 else { throw fail("LONG4 with negative length at byte \(opAt)") }
                push(try long(Int(n)))
            case 0x47: push(.float(Double(bitPattern: try bigEndian8())))  // BINFLOAT
            case 0x58: push(.string(try text(Int(try uint(4)))))        // BINUNICODE
            case 0x8C: push(.string(try text(Int(try byte()))))         // SHORT_BINUNICODE
            case 0x8D: push(.string(try text(try length8())))           // BINUNICODE8
            case 0x42: push(.bytes(Data(try take(Int(try uint(4))))))   // BINBYTES
            case 0x43: push(.bytes(Data(try take(Int(try byte())))))    // SHORT_BINBYTES
            case 0x8E: push(.bytes(Data(try take(try length8()))))      // BINBYTES8
            case 0x74: push(.box(tuple(try popMark())))                 // TUPLE
            case 0x85: let a = try pop(); push(.box(tuple([a])))        // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); push(.box(tuple([a, b])))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); push(.box(tuple([a, b, c])))
            case 0x61: let v = try pop(); try append(to: try peek(), [v])         // APPEND
            case 0x65: let vs = try popMark(); try append(to: try peek(), vs)     // APPENDS
            case 0x73: let v = try pop(), k = try pop(); try setItems(try peek(), [k, v])  // SETITEM
            case 0x75: let kv = try popMark(); try setItems(try peek(), kv)       // SETITEMS
            case 0x71: memo[Int(try byte())] = try peek()               // BINPUT
            case 0x72: memo[Int(try uint(4))] = try peek()              // LONG_BINPUT
            case 0x94: memo[memo.count] = try peek()                    // MEMOIZE
            case 0x68: push(try recall(Int(try byte())))                // BINGET
            case 0x6A: push(try recall(Int(try uint(4))))               // LONG_BINGET
            case 0x30: _ = try pop()                                    // POP
            case 0x31: _ = try popMark()                                // POP_MARK
            case 0x32: push(try peek())                                 // DUP
            case 0x63:                                                  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                push(.global(try resolve(module, name)))
            case 0x93:                                                  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case let .string(m) = module, case let .string(n) = name else {
                    throw fail("STACK_GLOBAL needs two strings at byte \(opAt)")
                }
                push(.global(try resolve(m, n)))
            case 0x52, 0x81:                                            // REDUCE, NEWOBJ
                let args = try pop(), callable = try pop()
                guard case let .global(g) = callable else { throw fail("REDUCE/NEWOBJ on a \(callable.kindName) at byte \(opAt)") }
                guard case let .box(b) = args, b.kind == .tuple else { throw fail("arguments of \(g.qualifiedName) are not a tuple at byte \(opAt)") }
                push(try call(g, b.items))
            case 0x62:                                                  // BUILD
                let state = try pop()
                try build(try peek(), state)
            case 0x51:                                                  // BINPERSID
                push(try persistentLoad(try pop()))
            default:
                throw CheckpointError.unsupported(path: path, format: "pickle",
                                                  reason: "opcode 0x\(String(op, radix: 16)) at byte \(opAt) is not used by torch checkpoints")
            }
        }
    }

    // MARK: reading the stream

    private func byte() throws -> UInt8 {
        guard pos < code.count else { throw fail("pickle ends at byte \(pos) without STOP (truncated)") }
        defer { pos += 1 }
        return code[pos]
    }

    private func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= code.count - pos else { throw fail("a \(n)-byte argument at byte \(pos) runs past the end of the pickle") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: code[pos..<(pos + n)])
    }

    private func uint(_ n: Int) throws -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    private func length8() throws -> Int {
        let v = try uint(8)
        guard v <= UInt64(code.count) else { throw fail("length \(v) at byte \(pos - 8) exceeds the pickle size") }
        return Int(v)
    }

    private func bigEndian8() throws -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }

    private func text(_ n: Int) throws -> String {
        let raw = try take(n)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("string at byte \(pos - n) is not valid UTF-8") }
        return s
    }

    private func line() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            bytes.append(b)
            if bytes.count > 1024 { throw fail("GLOBAL name longer than 1024 bytes at byte \(pos)") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Little-endian two's-complement integer of `n` bytes.
    private func long(_ n: Int) throws -> Value {
        let raw = Array(try take(n))
        if n == 0 { return .int(0) }
        if n <= 8 {
            var v: UInt64 = 0
            for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
            if n < 8, raw[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
            return .int(Int64(bitPattern: v))
        }
        return .bigInt(raw)
    }

    // MARK: stack

    private func push(_ v: Value) { stack.append(v) }

    private func pop() throws -> Value {
        guard let v = stack.popLast() else { throw fail("stack underflow at byte \(pos - 1)") }
        if let m = marks.last, stack.count < m { throw fail("opcode at byte \(pos - 1) pops across a MARK") }
        return v
    }

    private func peek() throws -> Value {
        guard let v = stack.last else { throw fail("empty stack at byte \(pos - 1)") }
        return v
    }

    private func popMark() throws -> [Value] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("no MARK for the opcode at byte \(pos - 1)") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func recall(_ i: Int) throws -> Value {
        guard let v = memo[i] else { throw fail("memo entry \(i) read before it was written (byte \(pos))") }
        return v
    }

    // MARK: containers

    private func newBox(_ kind: Box.Kind) -> Box {
        let b = Box(kind)
        boxes.append(b)
        return b
    }

    private func tuple(_ items: [Value]) -> Box {
        let b = newBox(.tuple)
        b.items = items
        return b
    }

    private func append(to target: Value, _ values: [Value]) throws {
        guard case let .box(b) = target, b.kind == .list else { throw fail("APPEND to a \(target.kindName) at byte \(pos - 1)") }
        b.items.append(contentsOf: values)
    }

    private func setItems(_ target: Value, _ kv: [Value]) throws {
        guard case let .box(b) = target, b.kind == .dict else { throw fail("SETITEM on a \(target.kindName) at byte \(pos - 1)") }
        guard kv.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values at byte \(pos - 1)") }
        var i = 0
        while i < kv.count {
            let key = kv[i], value = kv[i + 1]
            let h: HashKey?
            switch key {
            case let .string(s): h = .string(s)
            case let .int(n): h = .int(n)
            default: h = nil
            }
            if let h, let existing = b.index[h] {
                b.items[existing] = value          // Python dict: a repeated key replaces the value
            } else {
                if let h { b.index[h] = b.keys.count }
                b.keys.append(key)
                b.items.append(value)
            }
            i += 2
        }
    }

    private func build(_ target: Value, _ state: Value) throws {
        switch (target, state) {
        case (_, .none):
            return
        case let (.box(b), _) where b.kind == .dict:
            return  // OrderedDict instance attributes (state_dict()'s `_metadata` versions): not items
        case (.tensor, _):
            return  // Parameter/tensor python attributes (e.g. `_is_param`): no effect on the values
        default:
            throw fail("BUILD of a \(target.kindName) with a \(state.kindName) state at byte \(pos - 1)")
        }
    }

    // MARK: globals

    private func resolve(_ module: String, _ name: String) throws -> PickleGlobal {
        guard let g = PickleGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(path: path, global: "\(module).\(name)")
        }
        return g
    }

    private func call(_ g: PickleGlobal, _ args: [Value]) throws -> Value {
        switch g {
        case .orderedDict:
            let d = newBox(.dict)
            if let first = args.first, case let .box(items) = first, items.kind == .list {
                for pair in items.items {
                    guard case let .box(t) = pair, t.kind == .tuple, t.items.count == 2 else { throw fail("OrderedDict item is not a pair") }
                    try setItems(.box(d), t.items)
                }
            }
            return .box(d)
        case .rebuildTensorV2:
            guard args.count >= 4 else { throw fail("_rebuild_tensor_v2 needs 4+ arguments, got \(args.count)") }
            guard case let .storage(storage) = args[0] else { throw fail("_rebuild_tensor_v2's first argument is a \(args[0].kindName), not a storage") }
            guard case let .int(offset) = args[1] else { throw fail("_rebuild_tensor_v2's storage offset is a \(args[1].kindName)") }
            return .tensor(try TensorRebuild.view(storage: storage, offset: Int(offset), size: try ints(args[2], "size"),
                                                  stride: try ints(args[3], "stride"), copyBudget: &copyBudget, path: path))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let first = args.first, case .tensor = first else { throw fail("\(g.qualifiedName) without a tensor argument") }
            return first
        case .torchSize:
            guard let first = args.first, case let .box(t) = first, t.kind == .tuple else { throw fail("torch.Size without a tuple") }
            return first
        case .codecsEncode:
            guard let first = args.first, case let .string(s) = first else { throw fail("_codecs.encode without a string") }
            let encoding = args.count > 1 ? { if case let .string(e) = args[1] { return e.lowercased() }; return "" }() : "utf-8"
            if encoding == "latin1" || encoding == "latin-1" {
                var out = Data()
                for u in s.unicodeScalars {
                    guard u.value < 256 else { throw fail("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1") }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            }
            return .bytes(Data(s.utf8))
        case .storageType:
            throw fail("\(g.qualifiedName) called as a function")
        }
    }

    private func ints(_ v: Value, _ what: String) throws -> [Int] {
        guard case let .box(b) = v, b.kind == .tuple || b.kind == .list else { throw fail("tensor \(what) is a \(v.kindName), not a tuple") }
        return try b.items.map {
            guard case let .int(i) = $0, let n = Int(exactly: i) else { throw fail("tensor \(what) holds a \($0.kindName)") }
            return n
        }
    }

    /// BINPERSID with torch's id tuple ('storage', StorageType, key, location, numel).
    private func persistentLoad(_ pid: Value) throws -> Value {
        guard case let .box(t) = pid, t.kind == .tuple, t.items.count >= 5,
              case let .string(tag) = t.items[0], tag == "storage",
              case let .global(.storageType(dtype)) = t.items[1],
              case let .string(key) = t.items[2],
              case let .int(numel) = t.items[4], numel >= 0 else {
            throw fail("persistent id at byte \(pos - 1) is not ('storage', torch.<Type>Storage, key, location, numel)")
        }
        return .storage(try loadStorage(key, dtype, Int(numel)))
    }

    // MARK: result

    private func convert(_ v: Value, depth: Int, budget: inout Int) throws -> PickleValue {
        guard depth < PickleMachine.maxDepth else { throw fail("containers nested deeper than \(PickleMachine.maxDepth) levels (or a recursive container)") }
        budget -= 1
        guard budget >= 0 else { throw fail("the decoded tree is far larger than the pickle (shared containers expanded repeatedly)") }
        switch v {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .bigInt(b): return .bigInt(b)
        case let .float(d): return .float(d)
        case let .string(s): return .string(s)
        case let .bytes(d): return .bytes(d)
        case let .tensor(t): return .tensor(t)
        case let .box(b):
            switch b.kind {
            case .list: return .list(try b.items.map { try convert($0, depth: depth + 1, budget: &budget) })
            case .tuple: return .tuple(try b.items.map { try convert($0, depth: depth + 1, budget: &budget) })
            case .dict:
                var out: [(key: PickleValue, value: PickleValue)] = []
                out.reserveCapacity(b.keys.count)
                for (k, val) in zip(b.keys, b.items) {
                    out.append((try convert(k, depth: depth + 1, budget: &budget), try convert(val, depth: depth + 1, budget: &budget)))
                }
                return .dict(out)
            }
        case let .global(g): throw fail("the result contains the class \(g.qualifiedName) itself")
        case .storage: throw fail("the result contains a bare storage, not a tensor")
        }
    }
}
