import Foundation

/// The on-disk form of a forest, versioned against the vectors it indexes.
///
/// Leaves hold image ids (not slots, which depend on load order), and the file lists every indexed id with a
/// fingerprint of its vector, so a loader can tell exactly which items still match the stored vectors. Layout
/// (host byte order, little-endian on every supported platform; a big-endian reader fails the magic check):
/// header of eleven UInt64 (magic, version, dimension, trees, leaf size, seed, subspace rank, node count, normal
/// rows, leaf slots, items) and, from version 3, a twelfth: the change sequence number the indexed vectors were
/// current at (0: unknown; version-2 files are still read, with sequence 0), roots (Int32 each), nodes (7 × 32 bits each), normals (Float), the subspace basis
/// (rank × dimension Float), leaf ids (Int64, -1 empty), items (id Int64, fingerprint UInt64, sorted by id), then
/// a UInt64 checksum of everything before it.
struct ForestSnapshot {
    struct Parameters: Equatable {
        var dimension: Int
        var trees: Int
        var leafSize: Int
        var seed: UInt64
        /// Rank of the principal subspace saved with the forest (0: none).
        var reducedRank: Int
    }

    struct Item: Equatable {
        var id: Int64
        var fingerprint: UInt64
    }

    static let magic: UInt64 = 0x5453_4552_4F46_4B4C  // "LKFOREST"
    static let version: UInt64 = 3
    /// Versions this build reads (2: before the header carried a change sequence number).
    static let readableVersions: ClosedRange<UInt64> = 2...3
    /// Caps every count read from a file before anything is allocated.
    static let maxElements = 1 << 32

    var parameters: Parameters
    var roots: [Int32]
    var nodes: [RandomProjectionForest.Node]
    var normals: [Float]
    /// The principal subspace's basis (empty when the rank is 0).
    var subspaceBasis: [Float]
    var leafIDs: [Int64]
    var items: [Item]
    /// The change sequence number of the collection that the indexed vectors reflect (0: unknown).
    var sequence: Int64 = 0

    static func fingerprint(id: Int64, row: UnsafePointer<Float>, dimension: Int) -> UInt64 {
        SnapshotHash.fingerprint(id: id, row: row, dimension: dimension)
    }

    // MARK: Encoding

    func encoded() -> [UInt8] {
        var writer = SnapshotWriter(capacity: 96 + roots.count * 4 + nodes.count * 28
                                    + (normals.count + subspaceBasis.count) * 4 + leafIDs.count * 8 + items.count * 16 + 8)
        writer.append([Self.magic, Self.version, UInt64(parameters.dimension), UInt64(parameters.trees),
                UInt64(parameters.leafSize), parameters.seed, UInt64(parameters.reducedRank), UInt64(nodes.count),
                UInt64(normals.count / max(parameters.dimension, 1)), UInt64(leafIDs.count), UInt64(items.count),
                UInt64(bitPattern: sequence)])
        writer.append(roots)
        writer.append(nodes.flatMap { node -> [UInt32] in
            [node.left, node.right, node.normal, Int32(bitPattern: node.offset.bitPattern), node.start, node.count,
             node.capacity].map { UInt32(bitPattern: $0) }
        })
        writer.append(normals)
        writer.append(subspaceBasis)
        writer.append(leafIDs)
        writer.append(items.flatMap { [UInt64(bitPattern: $0.id), $0.fingerprint] })
        return writer.sealed(magic: Self.magic)
    }

}

extension ForestSnapshot {
    // MARK: Decoding

    /// Parses and validates a snapshot: every count, index and range is checked, so a damaged or hostile file is
    /// rejected here rather than trapping later.
    init(decoding bytes: [UInt8], path: String) throws {
        func malformed(_ reason: String) -> IndexSnapshotError { .init(kind: .malformed, path: path, reason: reason) }
        guard bytes.count >= 96 else { throw malformed("\(bytes.count) bytes is too short for a snapshot") }
        var reader = SnapshotReader(bytes: bytes, end: bytes.count - 8)
        let header = try reader.read(UInt64.self, count: 11).get(orThrow: malformed("truncated header"))
        guard header[0] == Self.magic else { throw malformed("not a forest snapshot") }
        guard Self.readableVersions.contains(header[1]) else {
            throw malformed("format version \(header[1]), this build reads \(Self.readableVersions)")
        }
        guard SnapshotReader.checksumMatches(bytes, magic: Self.magic) else { throw malformed("checksum mismatch (damaged or partly written file)") }
        if header[1] >= 3 {
            sequence = Int64(bitPattern: try reader.read(UInt64.self, count: 1).get(orThrow: malformed("truncated header"))[0])
        }
        for (position, value) in header.enumerated() where position >= 2 && position != 5 && value > UInt64(Self.maxElements) {
            throw malformed("implausible count \(value) in the header")
        }
        parameters = Parameters(dimension: Int(header[2]), trees: Int(header[3]), leafSize: Int(header[4]), seed: header[5],
                                reducedRank: Int(header[6]))
        let nodeCount = Int(header[7]), normalRows = Int(header[8]), leafSlots = Int(header[9]), itemCount = Int(header[10])
        guard parameters.dimension > 0, parameters.trees > 0 else { throw malformed("zero dimension or trees") }
        guard parameters.reducedRank < parameters.dimension else { throw malformed("subspace rank ≥ dimension") }
        let (normalCount, overflow) = normalRows.multipliedReportingOverflow(by: parameters.dimension)
        guard !overflow else { throw malformed("normal matrix size overflows") }

        roots = try reader.read(Int32.self, count: parameters.trees).get(orThrow: malformed("truncated roots"))
        let rawNodes = try reader.read(UInt32.self, count: nodeCount * 7).get(orThrow: malformed("truncated nodes"))
        normals = try reader.read(Float.self, count: normalCount).get(orThrow: malformed("truncated normals"))
        subspaceBasis = try reader.read(Float.self, count: parameters.reducedRank * parameters.dimension)
            .get(orThrow: malformed("truncated subspace"))
        leafIDs = try reader.read(Int64.self, count: leafSlots).get(orThrow: malformed("truncated leaves"))
        let rawItems = try reader.read(UInt64.self, count: itemCount * 2).get(orThrow: malformed("truncated items"))
        guard reader.offset == reader.end else { throw malformed("\(reader.end - reader.offset) unexpected trailing bytes") }

        nodes = (0..<nodeCount).map { index in
            let field = { Int32(bitPattern: rawNodes[index * 7 + $0]) }
            return RandomProjectionForest.Node(
                left: field(0), right: field(1), normal: field(2), offset: Float(bitPattern: UInt32(bitPattern: field(3))),
                start: field(4), count: field(5), capacity: field(6))
        }
        items = (0..<itemCount).map { Item(id: Int64(bitPattern: rawItems[2 * $0]), fingerprint: rawItems[2 * $0 + 1]) }
        if let reason = Self.structuralProblem(roots: roots, nodes: nodes, normalRows: normalRows, leafSlots: leafSlots) {
            throw malformed(reason)
        }
        guard zip(items, items.dropFirst()).allSatisfy({ $0.id < $1.id }) else { throw malformed("items not sorted by id") }
    }

    /// Checks that the nodes form trees (every node has at most one parent, roots none, so no walk can cycle) and
    /// that every child, normal and leaf range is in bounds; nil when sound.
    static func structuralProblem(roots: [Int32], nodes: [RandomProjectionForest.Node], normalRows: Int, leafSlots: Int) -> String? {
        var parents = [UInt8](repeating: 0, count: nodes.count)
        for root in roots {
            guard (0..<Int32(nodes.count)).contains(root) else { return "root \(root) out of range" }
            parents[Int(root)] = 2  // a root may never also be a child
        }
        for (index, node) in nodes.enumerated() {
            if node.isLeaf {
                let start = Int(node.start), count = Int(node.count), capacity = Int(node.capacity)
                guard start >= 0, count >= 0, count <= capacity, capacity <= leafSlots - start else {
                    return "leaf \(index) range out of bounds"
                }
                continue
            }
            guard node.normal == -2 || (0..<Int32(normalRows)).contains(node.normal) else {
                return "node \(index) refers to normal \(node.normal) of \(normalRows)"
            }
            for child in [node.left, node.right] {
                guard (0..<Int32(nodes.count)).contains(child), parents[Int(child)] == 0 else {
                    return "node \(index) has an invalid or shared child \(child)"
                }
                parents[Int(child)] = 1
            }
        }
        return nil
    }
}
