/// Encodes an `Encodable` response into a ``JSONValue`` for the fast writer: objects come out with their members
/// sorted by key (as every API answer always has), `nil` optionals are left out unless encoded explicitly, and a
/// ``RawJSON`` value is copied as it is (stored metadata, already validated JSON).
struct JSONValueEncoder {
    static func encode(_ value: some Encodable) throws -> JSONValue {
        let root = Node()
        try Node.encode(value, into: root)
        return root.value
    }

    /// A value under construction; containers fill it in as members are encoded.
    final class Node {
        enum Shape {
            case empty
            case value(JSONValue)
            case object([String: Node])
            case array([Node])
        }

        var shape = Shape.empty

        var value: JSONValue {
            switch shape {
            case .empty: return .null
            case .value(let value): return value
            case .object(let members): return .object(members.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value.value) })
            case .array(let elements): return .array(elements.map(\.value))
            }
        }

        static func encode(_ value: some Encodable, into node: Node) throws {
            if let raw = value as? RawJSON {
                node.shape = .value(.verbatim(raw.text))
            } else {
                try value.encode(to: ValueEncoder(node: node, codingPath: []))
            }
        }
    }

    struct ValueEncoder: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .object = node.shape {} else { node.shape = .object([:]) }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .array = node.shape {} else { node.shape = .array([]) }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        private func child(_ key: Key) -> Node {
            let child = Node()
            if case .object(var members) = node.shape {
                members[key.stringValue] = child
                node.shape = .object(members)
            }
            return child
        }

        mutating func encodeNil(forKey key: Key) throws { child(key).shape = .value(.null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).shape = .value(.bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws { child(key).shape = .value(.string(value)) }
        mutating func encode(_ value: Double, forKey key: Key) throws { child(key).shape = .value(.number(value)) }
        mutating func encode(_ value: Int, forKey key: Key) throws { child(key).shape = .value(.int(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).shape = .value(.int(Int(value))) }
        mutating func encode(_ value: some Encodable, forKey key: Key) throws { try Node.encode(value, into: child(key)) }

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
        var count: Int {
            if case .array(let elements) = node.shape { return elements.count }
            return 0
        }

        private func next() -> Node {
            let element = Node()
            if case .array(var elements) = node.shape {
                elements.append(element)
                node.shape = .array(elements)
            }
            return element
        }

        mutating func encodeNil() throws { next().shape = .value(.null) }
        mutating func encode(_ value: String) throws { next().shape = .value(.string(value)) }
        mutating func encode(_ value: some Encodable) throws { try Node.encode(value, into: next()) }

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

        mutating func encodeNil() throws { node.shape = .value(.null) }
        mutating func encode(_ value: Bool) throws { node.shape = .value(.bool(value)) }
        mutating func encode(_ value: String) throws { node.shape = .value(.string(value)) }
        mutating func encode(_ value: Double) throws { node.shape = .value(.number(value)) }
        mutating func encode(_ value: Float) throws { node.shape = .value(.number(Double(value))) }
        mutating func encode(_ value: Int) throws { node.shape = .value(.int(value)) }
        mutating func encode(_ value: Int64) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: Int8) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: Int16) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: Int32) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: UInt) throws { node.shape = .value(.number(Double(value))) }
        mutating func encode(_ value: UInt8) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: UInt16) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: UInt32) throws { node.shape = .value(.int(Int(value))) }
        mutating func encode(_ value: UInt64) throws { node.shape = .value(.number(Double(value))) }
        mutating func encode(_ value: some Encodable) throws { try Node.encode(value, into: node) }
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
