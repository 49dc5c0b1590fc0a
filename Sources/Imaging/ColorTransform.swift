internal import CLCMS2

/// A Little CMS transform from an embedded ICC profile to sRGB, 8 bits per sample.
///
/// Made once per distinct profile (``ColorManagement`` keeps them) and then shared by the decoding threads: it is
/// built without lcms's one-pixel cache, which is what makes `cmsDoTransform` safe to call concurrently.
final class ColorTransform: @unchecked Sendable {
    /// How the decoder's samples are laid out.
    enum Input: Hashable, Sendable {
        case rgb
        /// CMYK, 0 = no ink (TIFF).
        case cmyk
        /// CMYK, 255 = no ink (Adobe's CMYK and YCCK JPEGs).
        case invertedCMYK

        var channels: Int { self == .rgb ? 3 : 4 }
    }

    let input: Input
    /// Whether the profile is sRGB in all but name: no pixel moves by more than one level, so conversion is skipped.
    private(set) var isIdentity = false
    private let transform: cmsHTRANSFORM

    /// The transform from `iccProfile` to sRGB, or `nil` when lcms cannot parse the profile or it describes another
    /// colour space than `input` (a grey or CMYK profile on RGB pixels): such an image is treated as untagged.
    init?(iccProfile: [UInt8], input: Input) {
        _ = Self.silenceLibrary
        guard let source = iccProfile.withUnsafeBytes({ cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) })
        else { return nil }
        defer { cmsCloseProfile(source) }
        let expected = input == .rgb ? cmsSigRgbData : cmsSigCmykData
        guard cmsGetColorSpace(source) == expected, let sRGB = cmsCreate_sRGBProfile() else { return nil }
        defer { cmsCloseProfile(sRGB) }
        let format = switch input {
        case .rgb: lookalike_lcms_rgb8()
        case .cmyk: lookalike_lcms_cmyk8()
        case .invertedCMYK: lookalike_lcms_cmyk8_inverted()
        }
        guard let transform = cmsCreateTransform(source, format, sRGB, lookalike_lcms_rgb8(), cmsUInt32Number(INTENT_PERCEPTUAL),
                                                 cmsUInt32Number(cmsFLAGS_NOCACHE))
        else { return nil }
        self.transform = transform
        self.input = input
        if input == .rgb { isIdentity = Self.movesNoColour(transform) }
    }

    deinit { cmsDeleteTransform(transform) }

    /// `samples` (`count` pixels in the input layout) converted to sRGB.
    func convert(_ samples: UnsafeRawBufferPointer, count: Int) -> [UInt8] {
        precondition(samples.count >= count * input.channels, "ColorTransform: too few samples")
        return [UInt8](unsafeUninitializedCapacity: count * 3) { output, initialized in
            // lcms counts pixels in 32 bits: large images go through in slices.
            var done = 0
            while done < count {
                let slice = min(count - done, 1 << 24)
                cmsDoTransform(transform, samples.baseAddress! + done * input.channels, output.baseAddress! + done * 3,
                               cmsUInt32Number(slice))
                done += slice
            }
            initialized = count * 3
        }
    }

    /// Runs a grid of 8³ colours through: a profile equivalent to sRGB returns each within one level.
    private static func movesNoColour(_ transform: cmsHTRANSFORM) -> Bool {
        let levels: [UInt8] = [0, 36, 73, 109, 146, 182, 219, 255]
        var grid: [UInt8] = []
        grid.reserveCapacity(levels.count * levels.count * levels.count * 3)
        for red in levels { for green in levels { for blue in levels { grid += [red, green, blue] } } }
        var output = [UInt8](repeating: 0, count: grid.count)
        grid.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                cmsDoTransform(transform, source.baseAddress, target.baseAddress, cmsUInt32Number(grid.count / 3))
            }
        }
        return zip(grid, output).allSatisfy { abs(Int($0) - Int($1)) <= 1 }
    }

    /// lcms's default handler prints nothing in release builds; a no-op one makes sure a bad profile stays quiet.
    private static let silenceLibrary: Void = cmsSetLogErrorHandler { _, _, _ in }
}
