import Foundation

/// Which addresses a fetch may connect to: a server-side request forgery guard, applied to every address a
/// connection is about to be opened to (after name resolution and on every redirect, so neither a DNS answer
/// nor a `Location` header can lead past it).
///
/// An address is allowed when it lies in an allowed network, in no denied network, and is not this node itself
/// (a loopback, unspecified or local interface address with one of the node's own listening ports).
public struct NetworkPolicy: Sendable, Equatable {
    public let allowed: [IPNetwork]
    public let denied: [IPNetwork]
    /// The node's own listening ports; connections to them on a local address are refused.
    public let ownPorts: Set<Int>

    /// Link-local (where cloud metadata services answer), "this network", multicast and broadcast, in both
    /// families and as IPv4-mapped IPv6 addresses.
    public static let defaultDenied = [
        "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32", "ff00::/8",
        "::ffff:169.254.0.0/112", "::ffff:0.0.0.0/104", "::ffff:224.0.0.0/100",
    ]
    public static let defaultAllowed = ["0.0.0.0/0", "::/0"]

    public init(allowed: [IPNetwork], denied: [IPNetwork], ownPorts: Set<Int>) {
        self.allowed = allowed
        self.denied = denied
        self.ownPorts = ownPorts
    }

    /// Parses CIDR lists (`10.0.0.0/8`, `::1/128`, or a bare address); throws naming the first bad entry.
    public init(allowed: [String], denied: [String], ownPorts: Set<Int>) throws(FetchError) {
        self.init(allowed: try allowed.map { text throws(FetchError) in try IPNetwork(parsing: text) },
                  denied: try denied.map { text throws(FetchError) in try IPNetwork(parsing: text) }, ownPorts: ownPorts)
    }

    /// Why a connection to `address`:`port` is refused, or nil when it is allowed.
    public func refusal(address: [UInt8], port: Int) -> String? {
        let shown = IPNetwork.format(address)
        guard allowed.contains(where: { $0.contains(address) }) else { return "\(shown) is not in an allowed network" }
        if let network = denied.first(where: { $0.contains(address) }) { return "\(shown) is in the denied network \(network)" }
        if ownPorts.contains(port) && Self.isLocal(address) { return "\(shown):\(port) is this node's own port" }
        return nil
    }

    /// Loopback, unspecified, or an address of one of this machine's interfaces.
    static func isLocal(_ address: [UInt8]) -> Bool {
        let plain = IPNetwork.unmapped(address)
        if plain.count == 4 && (plain[0] == 127 || plain == [0, 0, 0, 0]) { return true }
        if plain.count == 16 && (plain == [UInt8](repeating: 0, count: 15) + [1] || plain.allSatisfy { $0 == 0 }) { return true }
        return interfaceAddresses().contains(plain)
    }

    /// Addresses of this machine's interfaces (read per check: interfaces come and go).
    static func interfaceAddresses() -> Set<[UInt8]> {
        var result: Set<[UInt8]> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return result }
        defer { freeifaddrs(list) }
        var entry: UnsafeMutablePointer<ifaddrs>? = first
        while let current = entry {
            if let address = current.pointee.ifa_addr, let bytes = IPNetwork.bytes(of: address) { result.insert(bytes) }
            entry = current.pointee.ifa_next
        }
        return result
    }
}

/// An IPv4 or IPv6 network in CIDR notation.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes.
    public let prefix: [UInt8]
    public let length: Int

    public init(parsing text: String) throws(FetchError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parseAddress(String(parts[0])) else {
            throw FetchError.invalidNetwork("'\(text.prefix(80))' is not an address or a CIDR network")
        }
        let maximum = address.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maximum).contains(value) else {
                throw FetchError.invalidNetwork("'\(text.prefix(80))' has a prefix length outside 0...\(maximum)")
            }
            length = value
        }
        self.prefix = address
        self.length = length
    }

    /// Whether `address` (4 or 16 bytes) lies in this network; IPv4 networks also match IPv4-mapped IPv6.
    public func contains(_ address: [UInt8]) -> Bool {
        let candidate = prefix.count == 4 ? Self.unmapped(address) : address
        guard candidate.count == prefix.count else { return false }
        var remaining = length
        for index in 0..<prefix.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate[index] & mask != prefix[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String { "\(Self.format(prefix))/\(length)" }

    /// The IPv4 address inside an IPv4-mapped IPv6 address, or the address unchanged.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        if address.count == 16 && address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF {
            return Array(address[12..<16])
        }
        return address
    }

    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func format(_ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = address.count == 4 ? AF_INET : AF_INET6
        let ok = address.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// The address bytes of an IPv4 or IPv6 socket address.
    static func bytes(of address: UnsafePointer<sockaddr>) -> [UInt8]? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default:
            return nil
        }
    }

    /// The port of an IPv4 or IPv6 socket address.
    static func port(of address: UnsafePointer<sockaddr>) -> Int? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET: address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        case AF_INET6: address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        default: nil
        }
    }
}
