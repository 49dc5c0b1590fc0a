/// Encodes an `Encodable` response into a ``JSONValue`` for the fast writer: objects come out with their members
/// sorted by key (as every API answer always has), `nil` optionals are left out unless encoded explicitly, and a
/// ``RawJSON`` value is copied as it is (stored metadata, already validated JSON).
struct JSONValueEncoder {
    static func encode(_ value: some Encodable) throws -> JSONValue {
        let root = Node()
        try Node.encode(value, into: root)
        return root.value
    }

    /// A value under construction; containers fill it in as members are encoded. Scalars go straight into their
    /// parent as values; only nested containers get a node of their own.
    final class Node {
        enum Kind { case empty, scalar, object, array }
        enum Member {
            case value(JSONValue)
            case node(Node)

            var value: JSONValue {
                switch self {
                case .value(let value): return value
                case .node(let node): return node.value
                }
            }
        }

        var kind = Kind.empty
        var scalar = JSONValue.null
        var members: [(key: String, member: Member)] = []
        var elements: [Member] = []

        var value: JSONValue {
            switch kind {
            case .empty: return .null
            case .scalar: return scalar
            case .object: return .object(members.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.member.value) })
            case .array: return .array(elements.map(\.value))
            }
        }

        /// Sets `key` (a later value for the same key replaces the earlier one).
        func set(_ key: String, _ member: Member) {
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].member = member
            } else {
                members.append((key, member))
            }
        }

        static func encode(_ value: some Encodable, into node: Node) throws {
            if let raw = value as? RawJSON {
                node.kind = .scalar
                node.scalar = .verbatim(raw.text)
            } else {
                try value.encode(to: ValueEncoder(node: node, codingPath: []))
            }
        }

        /// `value` as a member: a value when it encodes to one, a node otherwise.
        static func member(_ value: some Encodable) throws -> Member {
            if let raw = value as? RawJSON { return .value(.verbatim(raw.text)) }
            let child = Node()
            try value.encode(to: ValueEncoder(node: child, codingPath: []))
            return child.kind == .scalar ? .value(child.scalar) : .node(child)
        }
    }

    struct ValueEncoder: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.kind != .object { node.kind = .object; node.members = [] }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if node.kind != .array { node.kind = .array; node.elements = [] }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        private func child(_ key: Key) -> Node {
            let child = Node()
            node.set(key.stringValue, .node(child))
            return child
        }

        mutating func encodeNil(forKey key: Key) throws { node.set(key.stringValue, .value(.null)) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { node.set(key.stringValue, .value(.bool(value))) }
        mutating func encode(_ value: String, forKey key: Key) throws { node.set(key.stringValue, .value(.string(value))) }
        mutating func encode(_ value: Double, forKey key: Key) throws { node.set(key.stringValue, .value(.number(value))) }
        mutating func encode(_ value: Int, forKey key: Key) throws { node.set(key.stringValue, .value(.int(value))) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { node.set(key.stringValue, .value(.int(Int(value)))) }
        mutating func encode(_ value: some Encodable, forKey key: Key) throws { node.set(key.stringValue, try Node.member(value)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> {
            ValueEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            ValueEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { ValueEncoder(node: node, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(node: child(key), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.elements.count }

        private func next() -> Node {
            let element = Node()
            node.elements.append(.node(element))
            return element
        }

        mutating func encodeNil() throws { node.elements.append(.value(.null)) }
        mutating func encode(_ value: String) throws { node.elements.append(.value(.string(value))) }
        mutating func encode(_ value: some Encodable) throws { node.elements.append(try Node.member(value)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            ValueEncoder(node: next(), codingPath: codingPath).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            ValueEncoder(node: next(), codingPath: codingPath).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { ValueEncoder(node: next(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.set(scalar: .null) }
        mutating func encode(_ value: Bool) throws { node.set(scalar: .bool(value)) }
        mutating func encode(_ value: String) throws { node.set(scalar: .string(value)) }
        mutating func encode(_ value: Double) throws { node.set(scalar: .number(value)) }
        mutating func encode(_ value: Float) throws { node.set(scalar: .number(Double(value))) }
        mutating func encode(_ value: Int) throws { node.set(scalar: .int(value)) }
        mutating func encode(_ value: Int64) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: Int8) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: Int16) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: Int32) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: UInt) throws { node.set(scalar: .number(Double(value))) }
        mutating func encode(_ value: UInt8) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: UInt16) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: UInt32) throws { node.set(scalar: .int(Int(value))) }
        mutating func encode(_ value: UInt64) throws { node.set(scalar: .number(Double(value))) }
        mutating func encode(_ value: some Encodable) throws { try Node.encode(value, into: node) }
    }
}

extension JSONValueEncoder.Node {
    func set(scalar value: JSONValue) {
        kind = .scalar
        scalar = value
    }
}

/// Text that already is one JSON value, written as it is.
struct RawJSON: Encodable, Sendable {
    let text: String

    func encode(to encoder: any Encoder) throws {
        // Only ``JSONValueEncoder`` writes responses; it recognises this type before calling here.
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}
