/// The on-disk form of a graph: its codec, each node's code and edges, and the id and vector fingerprint each
/// node stood for, so that a loader can tell which nodes still match the stored vectors.
///
/// Nodes are numbered in the saving index's slot order; a node whose entry was deleted (a waypoint) has the id
/// ``waypoint``.
/// Layout (host byte order, little-endian on every supported platform; a big-endian reader fails the magic check):
/// header of eleven UInt64 (magic, version, dimension, degree, code rank, code length, nodes, entry node (-1:
/// none), change sequence, live entries at the last full build, tombstones then), the codec's basis (rank ×
/// dimension Float) and steps (rank Float), ids (Int64), fingerprints (UInt64), codes (code length × Int8 each),
/// degrees (UInt8), edges (degree × Int32 each, -1 past a node's degree), then a UInt64 checksum of all before it.
struct GraphSnapshot {
    struct Parameters: Equatable, CustomStringConvertible {
        var dimension: Int
        var degree: Int
        var codeRank: Int

        var description: String { "dimension \(dimension), degree \(degree), code rank \(codeRank)" }
    }

    static let magic: UInt64 = 0x4850_4152_474B_4C00  // "\0LKGRAPH"
    static let version: UInt64 = 1
    /// The id of a node whose entry was deleted: it was kept as a waypoint, and a loader drops it.
    static let waypoint = Int64.min
    /// Caps every count read from a file before anything is allocated.
    static let maxElements = 1 << 32

    var parameters: Parameters
    var entryNode: Int
    var sequence: Int64
    var builtAtCount: Int
    var tombstonesAtBuild: Int
    var basis: [Float]
    var scale: [Float]
    var ids: [Int64]
    var fingerprints: [UInt64]
    var codes: [Int8]
    var degrees: [UInt8]
    var neighbours: [Int32]

    var nodeCount: Int { ids.count }
    var codeLength: Int { (parameters.codeRank + 31) / 32 * 32 }

    func encoded() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 96 + (basis.count + scale.count) * 4 + nodeCount * 17 + codes.count
                                    + neighbours.count * 4 + 8)
        writer.append([Self.magic, Self.version, UInt64(parameters.dimension), UInt64(parameters.degree),
                       UInt64(parameters.codeRank), UInt64(codeLength), UInt64(nodeCount),
                       UInt64(bitPattern: Int64(entryNode)), UInt64(bitPattern: sequence), UInt64(builtAtCount),
                       UInt64(tombstonesAtBuild)])
        writer.append(basis)
        writer.append(scale)
        writer.append(ids)
        writer.append(fingerprints)
        writer.append(codes)
        writer.append(degrees)
        writer.append(neighbours)
        return writer.sealed(magic: Self.magic)
    }
}

extension GraphSnapshot {
    /// Parses and validates a snapshot: every count, edge and step is checked, so a damaged or hostile file is
    /// rejected here rather than trapping later.
    init(decoding bytes: [UInt8], path: String) throws(IndexSnapshotError) {
        func malformed(_ reason: String) -> IndexSnapshotError { .init(kind: .malformed, path: path, reason: reason) }
        guard bytes.count >= 96 else { throw malformed("\(bytes.count) bytes is too short for a snapshot") }
        var reader = SnapshotReader(bytes: bytes, end: bytes.count - 8)
        guard let header = reader.read(UInt64.self, count: 11) else { throw malformed("truncated header") }
        guard header[0] == Self.magic else { throw malformed("not a graph snapshot") }
        guard header[1] == Self.version else { throw malformed("format version \(header[1]), this build reads \(Self.version)") }
        guard SnapshotReader.checksumMatches(bytes, magic: Self.magic) else {
            throw malformed("checksum mismatch (damaged or partly written file)")
        }
        for position in [2, 3, 4, 5, 6, 9, 10] where header[position] > UInt64(Self.maxElements) {
            throw malformed("implausible count \(header[position]) in the header")
        }
        parameters = Parameters(dimension: Int(header[2]), degree: Int(header[3]), codeRank: Int(header[4]))
        let nodes = Int(header[6])
        entryNode = Int(Int64(bitPattern: header[7]))
        sequence = Int64(bitPattern: header[8])
        builtAtCount = Int(header[9])
        tombstonesAtBuild = Int(header[10])
        guard parameters.dimension > 0, (2...255).contains(parameters.degree),
              (1...min(512, parameters.dimension)).contains(parameters.codeRank) else {
            throw malformed("invalid parameters (\(parameters))")
        }
        guard Int(header[5]) == (parameters.codeRank + 31) / 32 * 32 else { throw malformed("code length \(header[5]) does not fit the rank") }
        guard nodes == 0 ? entryNode == -1 : (0..<nodes).contains(entryNode) else { throw malformed("entry node \(entryNode) of \(nodes)") }

        func read<T>(_ type: T.Type, _ count: Int, _ part: String) throws(IndexSnapshotError) -> [T] {
            guard let values = reader.read(type, count: count) else { throw malformed("truncated \(part)") }
            return values
        }
        basis = try read(Float.self, parameters.codeRank * parameters.dimension, "basis")
        scale = try read(Float.self, parameters.codeRank, "steps")
        ids = try read(Int64.self, nodes, "ids")
        fingerprints = try read(UInt64.self, nodes, "fingerprints")
        codes = try read(Int8.self, nodes * Int(header[5]), "codes")
        degrees = try read(UInt8.self, nodes, "degrees")
        neighbours = try read(Int32.self, nodes * parameters.degree, "edges")
        guard reader.offset == reader.end else { throw malformed("\(reader.end - reader.offset) unexpected trailing bytes") }
        guard basis.allSatisfy(\.isFinite), scale.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw malformed("invalid codec") }
        let degree = parameters.degree
        for node in 0..<nodes {
            guard Int(degrees[node]) <= degree else { throw malformed("node \(node) has \(degrees[node]) edges of \(degree)") }
            for edge in neighbours[(node * degree)..<(node * degree + Int(degrees[node]))] where !(0..<Int32(nodes)).contains(edge) {
                throw malformed("node \(node) has an edge to \(edge) of \(nodes) nodes")
            }
        }
    }
}
