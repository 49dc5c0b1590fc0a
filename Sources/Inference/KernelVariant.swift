internal import CKernels
import Foundation

/// Which build of the hot C kernels (`CKernels`) runs: AVX-512 (its depthwise convolution; the rest as AVX2) or
/// AVX2 + FMA where the CPU has them, portable C otherwise. `LOOKALIKE_KERNELS=portable|avx2` caps the choice
/// (the tests run every variant the CPU supports). The `portable` variant also multiplies through `cblas_sgemm`
/// rather than with weights packed once (``PackedWeights``).
public enum KernelVariant: String, Sendable, CaseIterable {
    case portable
    case avx2
    case avx512

    /// The variant used unless a caller asks for another: detected once per process.
    public static let best: KernelVariant = {
        let cap = ProcessInfo.processInfo.environment["LOOKALIKE_KERNELS"].flatMap(KernelVariant.init(rawValue:)) ?? .avx512
        return [.avx512, .avx2, .portable].first { $0.rank <= cap.rank && isSupported($0) }!
    }()

    /// Whether this CPU can run `variant`.
    public static func isSupported(_ variant: KernelVariant) -> Bool {
        switch variant {
        case .portable: true
        case .avx2: lookalike_cpu_has_avx2_fma() != 0
        case .avx512: lookalike_cpu_has_avx2_fma() != 0 && lookalike_cpu_has_avx512f() != 0
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    /// The variants this CPU can run.
    public static var supported: [KernelVariant] { allCases.filter(isSupported) }
}
