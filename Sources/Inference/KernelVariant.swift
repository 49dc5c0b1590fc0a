internal import CKernels
import Foundation

/// Which build of the hot C kernels (`CKernels`) runs: AVX2 + FMA where the CPU has them, portable C otherwise.
/// `LOOKALIKE_KERNELS=portable` forces the portable path (the tests run both).
public enum KernelVariant: String, Sendable, CaseIterable {
    case portable
    case avx2

    /// The variant used unless a caller asks for another: detected once per process.
    public static let best: KernelVariant = {
        if ProcessInfo.processInfo.environment["LOOKALIKE_KERNELS"] == "portable" { return .portable }
        return isSupported(.avx2) ? .avx2 : .portable
    }()

    /// Whether this CPU can run `variant`.
    public static func isSupported(_ variant: KernelVariant) -> Bool {
        variant == .portable || lookalike_cpu_has_avx2_fma() != 0
    }

    /// The variants this CPU can run.
    public static var supported: [KernelVariant] { allCases.filter(isSupported) }
}
