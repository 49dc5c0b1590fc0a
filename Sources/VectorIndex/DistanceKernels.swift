internal import CVectorKernels
import Foundation

/// The compressed index's inner products: the AVX2 build of `CVectorKernels` where the CPU has it, portable C
/// otherwise. `LOOKALIKE_KERNELS=portable` forces the portable build (the tests run both).
struct DistanceKernels: Sendable {
    let codeDot: @convention(c) (UnsafePointer<Int8>?, UnsafePointer<Int16>?, Int) -> Int32
    let floatDot: @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, Int) -> Float
    let pairDot: @convention(c) (UnsafePointer<Int8>?, UnsafePointer<Int8>?, UnsafePointer<Int16>?, Int) -> Int32
    let isVectorised: Bool

    init(vectorised: Bool) {
        isVectorised = vectorised
        codeDot = vectorised ? lookalike_dot_i8_i16_avx2 : lookalike_dot_i8_i16_portable
        floatDot = vectorised ? lookalike_dot_f32_avx2 : lookalike_dot_f32_portable
        pairDot = vectorised ? lookalike_dot_i8_i8_weighted_avx2 : lookalike_dot_i8_i8_weighted_portable
    }

    static var cpuHasVectorBuild: Bool { lookalike_vector_cpu_has_avx2() != 0 }

    /// Chosen once per process.
    static let best = DistanceKernels(
        vectorised: cpuHasVectorBuild && ProcessInfo.processInfo.environment["LOOKALIKE_KERNELS"] != "portable")

    @inline(__always)
    static func prefetch(_ address: UnsafeRawPointer, bytes: Int) { lookalike_prefetch(address, bytes) }
}
