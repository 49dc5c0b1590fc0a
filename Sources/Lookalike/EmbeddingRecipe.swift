import Foundation
public import Imaging

/// How an image becomes a vector with the loaded model: the crop, border trimming, mirror averaging and the
/// feature power. A collection has one (its own, or the service configuration's); vectors of two recipes are never
/// compared, and a collection moves from one to another by re-embedding (``LookalikeService/changeRecipe(collection:to:)``).
public struct EmbeddingRecipe: Sendable, Hashable, CustomStringConvertible {
    public var crop: ModelInputPreprocessor.CropPolicy
    /// Uniform margins are cut before the crop.
    public var trimBorders: Bool
    /// The vector is the mean of the image's and its mirror image's.
    public var mirrorAverage: Bool
    /// Each feature x becomes sign(x)·|x|^power before normalisation, in (0, 1].
    public var featurePower: Float

    public init(crop: ModelInputPreprocessor.CropPolicy = .centerSquare, trimBorders: Bool = false,
                mirrorAverage: Bool = false, featurePower: Float = 1) {
        self.crop = crop
        self.trimBorders = trimBorders
        self.mirrorAverage = mirrorAverage
        self.featurePower = featurePower
    }

    /// The JSON spelling of the crops (`center`, not the Swift case name).
    static let cropNames: [(name: String, crop: ModelInputPreprocessor.CropPolicy)] = [
        ("center", .centerSquare), ("squash", .squash), ("pad", .pad),
    ]

    static func name(of crop: ModelInputPreprocessor.CropPolicy) -> String {
        cropNames.first { $0.crop == crop }!.name
    }

    /// Reads a recipe given as a JSON object; fields left out keep `base`'s values. Unknown keys and bad values
    /// are errors naming the key.
    public static func parse(_ value: Any, base: EmbeddingRecipe) throws -> EmbeddingRecipe {
        guard let object = value as? [String: Any] else {
            throw LookalikeError.invalidArgument(#"recipe must be an object such as {"crop": "squash", "feature_power": 0.8}"#)
        }
        var recipe = base
        for (key, value) in object {
            switch key {
            case "crop":
                guard let text = value as? String, let crop = cropNames.first(where: { $0.name == text })?.crop else {
                    throw LookalikeError.invalidArgument("recipe.crop must be one of \(cropNames.map(\.name).joined(separator: ", "))")
                }
                recipe.crop = crop
            case "trim_borders", "mirror_average":
                guard let flag = value as? Bool, Self.isBoolean(value) else {
                    throw LookalikeError.invalidArgument("recipe.\(key) must be true or false")
                }
                if key == "trim_borders" { recipe.trimBorders = flag } else { recipe.mirrorAverage = flag }
            case "feature_power":
                guard !Self.isBoolean(value), let number = value as? Double,
                      number >= 0.1, number <= 1 else {
                    throw LookalikeError.invalidArgument("recipe.feature_power must be a number from 0.1 to 1")
                }
                recipe.featurePower = Float(number)
            default:
                throw LookalikeError.invalidArgument("unknown recipe setting '\(key.prefix(64))'")
            }
        }
        return recipe
    }

    /// Whether a value JSONSerialization read is a JSON boolean: the numbers 0 and 1 also cast to `Bool`, and
    /// booleans to `Double`, so only the type tells them apart.
    private static func isBoolean(_ value: Any) -> Bool {
        value is Bool && (type(of: value) == Bool.self || String(describing: type(of: value)).hasSuffix("Boolean"))
    }

    /// The crop's JSON name.
    public var cropName: String { Self.name(of: crop) }

    /// The stored form: a JSON object with every field, sorted keys.
    var json: String {
        #"{"crop":"\#(Self.name(of: crop))","feature_power":\#(featurePower),"mirror_average":\#(mirrorAverage),"trim_borders":\#(trimBorders)}"#
    }

    public var description: String { json }
}
