/// Element-wise epilogues applied after a convolution's matrix product.
public enum Activation: Sendable {
    /// `x`, unchanged (projection layers).
    case identity
    /// `min(max(x, 0), 6)`.
    case relu6

    /// `min(max(x, 0), 6)` lane-wise. Written with masks because the generic `clamped`/`pointwiseMin` calls are
    /// not vectorised by the compiler and cost a third of the whole forward pass.
    @inline(__always)
    static func relu6(_ value: SIMD8<Float>) -> SIMD8<Float> {
        let positive = value.replacing(with: 0, where: value .< 0)
        return positive.replacing(with: 6, where: positive .> 6)
    }

    /// Applies ReLU6 in place to `count` values.
    static func relu6(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var index = 0
        while index + 8 <= count {
            let raw = UnsafeMutableRawPointer(values + index)
            raw.storeBytes(of: relu6(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
            index += 8
        }
        while index < count {
            values[index] = min(max(values[index], 0), 6)
            index += 1
        }
    }

    /// Writes `bias` into each of `rows` rows of `columns` values: the starting point of a matrix product with
    /// `beta = 1`, which also spares OpenBLAS its separate pass to zero the output.
    static func fillBias(_ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        for row in 0..<rows { (values + row * columns).update(from: bias, count: columns) }
    }

    /// Applies the activation in place to `count` values.
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        if case .relu6 = self { Self.relu6(values, count: count) }
    }
}
