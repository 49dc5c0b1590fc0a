/// An Annoy-style forest of random-projection trees over unit vectors (Bernhardsson, "Annoy", 2013).
///
/// Each internal node splits its items by the hyperplane equidistant from two centroids found by a few
/// two-means iterations started from two random items; leaves hold at most `leafSize` items. A split that
/// leaves more than 95 % on one side three times running falls back to a random assignment (margin 0, both
/// sides explored equally at search time).
///
/// Flat layout, no object per node: `nodes` (28 bytes each), `normals` (`dimension` floats per internal node),
/// `leafItems` (slots, 4 bytes each, with room reserved in every leaf for inserts). Per vector and tree this is
/// about 4 × 2 bytes of leaf slots plus `28 + 4·dimension` bytes per `leafSize / 2` vectors for nodes.
struct RandomProjectionForest {
    struct Node {
        /// Children (internal nodes); -1 for leaves.
        var left: Int32 = -1
        var right: Int32 = -1
        /// Row in `normals`; -1 for leaves, -2 for a random split.
        var normal: Int32 = -1
        var offset: Float = 0
        /// Leaf items: `leafItems[start ..< start + count]`, room for `capacity`.
        var start: Int32 = 0
        var count: Int32 = 0
        var capacity: Int32 = 0

        var isLeaf: Bool { normal == -1 }
    }

    let dimension: Int
    let leafSize: Int
    let seed: UInt64
    private(set) var roots: [Int32] = []
    private(set) var nodes: [Node] = []
    private(set) var normals: [Float] = []
    private(set) var leafItems: [Int32] = []
    /// Rows (slots) indexed when built or inserted; later slots are unknown to the forest.
    private(set) var indexedCount = 0
    private var random: SplitMix64

    /// Builds `treeCount` trees over `slots` of `rows`; deterministic for a given seed and input.
    init(rows: RowSource, slots: [Int32], treeCount: Int, leafSize: Int, seed: UInt64) {
        precondition(treeCount >= 1 && leafSize >= 2, "forest needs at least one tree and leaves of 2+")
        dimension = rows.dimension
        self.leafSize = leafSize
        self.seed = seed
        random = SplitMix64(seed: seed)
        indexedCount = rows.count
        for tree in 0..<treeCount {
            var treeRandom = SplitMix64(seed: seed &+ UInt64(tree) &* 0x9E37_79B9)
            roots.append(build(rows: rows, items: slots, random: &treeRandom))
        }
    }

    var treeCount: Int { roots.count }

    /// Restores a forest from a validated snapshot. Leaf ids are mapped to slots by `slotOf`; ids it does not
    /// map (deleted or changed since the snapshot) are dropped from their leaves.
    init(snapshot: ForestSnapshot, slotOf: (Int64) -> Int32?, indexedCount: Int) {
        dimension = snapshot.parameters.dimension
        leafSize = snapshot.parameters.leafSize
        seed = snapshot.parameters.seed
        random = SplitMix64(seed: seed ^ 0x5EED)
        roots = snapshot.roots
        nodes = snapshot.nodes
        normals = snapshot.normals
        leafItems = [Int32](repeating: -1, count: snapshot.leafIDs.count)
        for index in nodes.indices where nodes[index].isLeaf {
            let node = nodes[index]
            var kept: Int32 = 0
            for position in Int(node.start)..<Int(node.start + node.count) {
                guard let slot = slotOf(snapshot.leafIDs[position]) else { continue }
                leafItems[Int(node.start + kept)] = slot
                kept += 1
            }
            nodes[index].count = kept
        }
        self.indexedCount = indexedCount
    }

    /// The forest's arrays, with the subspace learned with it, and leaf slots turned into ids by `idOf` (nil: a
    /// deleted slot, stored as -1).
    func snapshot(items: [ForestSnapshot.Item], subspace: PrincipalSubspace?, idOf: (Int32) -> Int64?) -> ForestSnapshot {
        ForestSnapshot(
            parameters: .init(dimension: dimension, trees: roots.count, leafSize: leafSize, seed: seed,
                              reducedRank: subspace?.rank ?? 0),
            roots: roots, nodes: nodes, normals: normals, subspaceBasis: subspace?.basis ?? [],
            leafIDs: leafItems.map { $0 < 0 ? -1 : idOf($0) ?? -1 }, items: items)
    }


    /// Bytes held by the forest's arrays.
    var allocatedBytes: Int {
        nodes.capacity * MemoryLayout<Node>.stride + normals.capacity * 4 + leafItems.capacity * 4
    }

    // MARK: Building

    /// Builds the subtree over `items` and returns its root node index.
    private mutating func build(rows: RowSource, items: [Int32], random: inout SplitMix64) -> Int32 {
        let root = Int32(nodes.count)
        nodes.append(Node())
        var stack: [(node: Int32, items: [Int32])] = [(root, items)]
        while let (node, items) = stack.popLast() {
            if items.count <= leafSize {
                makeLeaf(node, items: items)
                continue
            }
            var split = chooseSplit(rows: rows, items: items, random: &random)
            var (left, right) = partition(rows: rows, items: items, normal: split.normal, offset: split.offset)
            var attempts = 1
            while attempts < 3 && Self.imbalance(left.count, right.count) > 0.95 {
                split = chooseSplit(rows: rows, items: items, random: &random)
                (left, right) = partition(rows: rows, items: items, normal: split.normal, offset: split.offset)
                attempts += 1
            }
            if Self.imbalance(left.count, right.count) > 0.95 {
                // Degenerate (e.g. many identical vectors): split at random so the tree stays shallow.
                left = []; right = []
                for item in items { if random.next() & 1 == 0 { left.append(item) } else { right.append(item) } }
                nodes[Int(node)].normal = -2
            } else {
                nodes[Int(node)].normal = Int32(normals.count / dimension)
                nodes[Int(node)].offset = split.offset
                normals += split.normal
            }
            let leftNode = Int32(nodes.count)
            nodes.append(Node())
            let rightNode = Int32(nodes.count)
            nodes.append(Node())
            nodes[Int(node)].left = leftNode
            nodes[Int(node)].right = rightNode
            stack.append((leftNode, left))
            stack.append((rightNode, right))
        }
        return root
    }

    private static func imbalance(_ a: Int, _ b: Int) -> Double {
        Double(max(a, b)) / Double(max(a + b, 1))
    }

    private mutating func makeLeaf(_ node: Int32, items: [Int32]) {
        let capacity = max(2 * leafSize, items.count)
        nodes[Int(node)].normal = -1
        nodes[Int(node)].left = -1
        nodes[Int(node)].right = -1
        nodes[Int(node)].start = Int32(leafItems.count)
        nodes[Int(node)].count = Int32(items.count)
        nodes[Int(node)].capacity = Int32(capacity)
        leafItems += items
        leafItems += [Int32](repeating: -1, count: capacity - items.count)
    }

    /// Two-means on a sample, started from two random items; returns the separating hyperplane.
    private func chooseSplit(rows: RowSource, items: [Int32], random: inout SplitMix64) -> (normal: [Float], offset: Float) {
        let first = Int(random.next() % UInt64(items.count))
        var second = Int(random.next() % UInt64(items.count - 1))
        if second >= first { second += 1 }
        var centroidA = Array(UnsafeBufferPointer(start: rows.row(items[first]), count: dimension))
        var centroidB = Array(UnsafeBufferPointer(start: rows.row(items[second]), count: dimension))
        var countA: Float = 1, countB: Float = 1
        let iterations = min(200, items.count)
        for _ in 0..<iterations {
            let row = rows.row(items[Int(random.next() % UInt64(items.count))])
            var distanceA: Float = 0, distanceB: Float = 0
            for index in 0..<dimension {
                let a = centroidA[index] - row[index], b = centroidB[index] - row[index]
                distanceA += a * a
                distanceB += b * b
            }
            if distanceA * countA < distanceB * countB {
                for index in 0..<dimension { centroidA[index] = (centroidA[index] * countA + row[index]) / (countA + 1) }
                countA += 1
            } else if distanceB * countB < distanceA * countA {
                for index in 0..<dimension { centroidB[index] = (centroidB[index] * countB + row[index]) / (countB + 1) }
                countB += 1
            }
        }
        var normal = [Float](repeating: 0, count: dimension)
        var norm: Float = 0
        for index in 0..<dimension {
            normal[index] = centroidA[index] - centroidB[index]
            norm += normal[index] * normal[index]
        }
        norm = norm.squareRoot()
        guard norm > 0 else { return (normal, 0) }
        var offset: Float = 0
        for index in 0..<dimension {
            normal[index] /= norm
            offset -= normal[index] * (centroidA[index] + centroidB[index]) / 2
        }
        return (normal, offset)
    }

    private func partition(rows: RowSource, items: [Int32], normal: [Float], offset: Float) -> ([Int32], [Int32]) {
        var left: [Int32] = [], right: [Int32] = []
        normal.withUnsafeBufferPointer { normal in
            for item in items {
                let margin = BLASKernels.dot(normal.baseAddress!, rows.row(item), count: dimension) + offset
                if margin > 0 { right.append(item) } else { left.append(item) }
            }
        }
        return (left, right)
    }

    @inline(__always)
    private func margin(of node: Node, _ vector: UnsafePointer<Float>) -> Float {
        normals.withUnsafeBufferPointer {
            BLASKernels.dot($0.baseAddress! + Int(node.normal) * dimension, vector, count: dimension) + node.offset
        }
    }

    // MARK: Inserting

    /// Adds row `slot` to every tree: descend to its leaf, append, and split the leaf if it is full.
    mutating func insert(slot: Int32, rows: RowSource) {
        let vector = rows.row(slot)
        for tree in 0..<roots.count {
            var node = roots[tree]
            while !nodes[Int(node)].isLeaf {
                let current = nodes[Int(node)]
                let goRight = current.normal == -2 ? random.next() & 1 == 1 : margin(of: current, vector) > 0
                node = goRight ? current.right : current.left
            }
            let leaf = nodes[Int(node)]
            if leaf.count < leaf.capacity {
                leafItems[Int(leaf.start + leaf.count)] = slot
                nodes[Int(node)].count += 1
            } else {
                // Rebuild this leaf as a subtree in place (the node index stays, so parents need no update).
                let items = Array(leafItems[Int(leaf.start)..<Int(leaf.start + leaf.count)]) + [slot]
                var subtreeRandom = SplitMix64(seed: seed ^ UInt64(slot))
                let subtree = build(rows: rows, items: items, random: &subtreeRandom)
                nodes[Int(node)] = nodes[Int(subtree)]
            }
        }
        indexedCount = max(indexedCount, Int(slot) + 1)
    }

    // MARK: Searching

    /// Collects up to about `searchK` candidate slots (with duplicates across trees), exploring all trees in one
    /// priority queue ordered by the smallest margin along each path.
    func candidates(for query: UnsafePointer<Float>, searchK: Int) -> [Int32] {
        var heap = MaxHeap()
        for root in roots { heap.push(priority: .infinity, node: root) }
        var result: [Int32] = []
        result.reserveCapacity(searchK + leafSize * 2)
        while result.count < searchK, let (priority, nodeIndex) = heap.pop() {
            let node = nodes[Int(nodeIndex)]
            if node.isLeaf {
                result.append(contentsOf: leafItems[Int(node.start)..<Int(node.start + node.count)])
            } else if node.normal == -2 {
                heap.push(priority: priority, node: node.left)
                heap.push(priority: priority, node: node.right)
            } else {
                let margin = margin(of: node, query)
                heap.push(priority: min(priority, margin), node: node.right)
                heap.push(priority: min(priority, -margin), node: node.left)
            }
        }
        return result
    }
}

/// A binary max-heap of (priority, node) for the forest search.
struct MaxHeap {
    private var items: [(Float, Int32)] = []

    mutating func push(priority: Float, node: Int32) {
        items.append((priority, node))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent].0 >= items[child].0 { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> (Float, Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var largest = parent
                if left < items.count && items[left].0 > items[largest].0 { largest = left }
                if right < items.count && items[right].0 > items[largest].0 { largest = right }
                if largest == parent { break }
                items.swapAt(parent, largest)
                parent = largest
            }
        }
        return top
    }
}
