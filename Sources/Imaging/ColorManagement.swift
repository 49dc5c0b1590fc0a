import Synchronization

/// Conversion of decoded pixels to sRGB, the space the model was trained in and thumbnails are shown in, from the
/// ICC profile the file embeds. Untagged images are sRGB already and cost nothing; so do images whose profile is
/// sRGB under another name. A profile lcms cannot use is ignored, as browsers do: the image still decodes.
public enum ColorManagement {
    /// `image` in sRGB, given the RGB profile its file carries (if any).
    public static func sRGB(_ image: RGBImage, iccProfile: [UInt8]?) -> RGBImage {
        guard let iccProfile, let transform = transform(for: iccProfile, input: .rgb), !transform.isIdentity else {
            return image
        }
        let pixels = image.pixels.withUnsafeBytes { transform.convert($0, count: image.width * image.height) }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    /// CMYK samples (`width × height × 4`) in sRGB through the file's CMYK profile, or `nil` without a usable one
    /// (the caller then falls back to the naive conversion).
    static func sRGB(cmyk samples: [UInt8], width: Int, height: Int, inverted: Bool, iccProfile: [UInt8]?) -> RGBImage? {
        guard let iccProfile, let transform = transform(for: iccProfile, input: inverted ? .invertedCMYK : .cmyk) else {
            return nil
        }
        let pixels = samples.withUnsafeBytes { transform.convert($0, count: width * height) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private struct Key: Hashable {
        let profile: [UInt8]
        let input: ColorTransform.Input
    }

    /// Transforms by profile: a phone or camera writes the same profile into every photo, and building a transform
    /// costs far more than running one over a model-sized image. `nil` records a profile that is unusable.
    private static let transforms = Mutex<[Key: ColorTransform?]>([:])
    private static let cachedProfiles = 64

    private static func transform(for profile: [UInt8], input: ColorTransform.Input) -> ColorTransform? {
        let key = Key(profile: profile, input: input)
        if let cached = transforms.withLock({ $0[key] }) { return cached }
        let made = ColorTransform(iccProfile: profile, input: input)
        transforms.withLock { cache in
            if cache.count >= cachedProfiles { cache.removeAll() }
            cache[key] = .some(made)
        }
        return made
    }
}
