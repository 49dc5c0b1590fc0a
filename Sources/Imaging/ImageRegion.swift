/// A rectangle of an upright image, `x,y,w,h`: in pixels, or in fractions of the width and height when all four
/// numbers are at most 1. Only this region goes to the model (a query "find the bag in this street photo").
public struct ImageRegion: Sendable, Equatable {
    public let x: Double
    public let y: Double
    public let width: Double
    public let height: Double

    /// The smallest side, in pixels, a region may resolve to: below it the model sees a few blurred pixels.
    public static let minimumSide = 16

    public var isFractional: Bool { x <= 1 && y <= 1 && width <= 1 && height <= 1 }

    /// Parses `x,y,w,h`; the numbers must be finite and not negative, the sides positive.
    public init(parsing text: String) throws(ImagingError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard text.utf8.count <= 200, parts.count == 4 else {
            throw .invalidArgument("box must be four numbers x,y,w,h (pixels, or fractions when all are ≤ 1)")
        }
        var numbers: [Double] = []
        for part in parts {
            guard let number = Double(part.trimmingASCIISpaces), number.isFinite, number >= 0 else {
                throw .invalidArgument("box must be four numbers x,y,w,h, none negative, got '\(text.prefix(80))'")
            }
            numbers.append(number)
        }
        guard numbers[2] > 0, numbers[3] > 0 else { throw .invalidArgument("box width and height must be positive") }
        self.init(x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3])
    }

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The region in whole pixels of an upright `imageWidth`×`imageHeight` image; a 400-class error when it
    /// does not lie inside the image or is smaller than ``minimumSide``.
    public func pixels(imageWidth: Int, imageHeight: Int) throws(ImagingError) -> (x: Int, y: Int, width: Int, height: Int) {
        let rect: (x: Int, y: Int, width: Int, height: Int)
        if isFractional {
            // A fraction's far edge may overshoot 1 by rounding (0.3 + 0.7): allow a hair, then clamp.
            guard x + width <= 1 + 1e-9, y + height <= 1 + 1e-9 else {
                throw .invalidArgument("box \(description) (fractions) reaches past the image: x + w and y + h must be ≤ 1")
            }
            let left = Int((x * Double(imageWidth)).rounded()), top = Int((y * Double(imageHeight)).rounded())
            let right = min(imageWidth, Int(((x + width) * Double(imageWidth)).rounded()))
            let bottom = min(imageHeight, Int(((y + height) * Double(imageHeight)).rounded()))
            rect = (left, top, right - left, bottom - top)
        } else {
            guard [x, y, width, height].allSatisfy({ $0.rounded() == $0 }) else {
                throw .invalidArgument("box \(description) in pixels must be whole numbers (fractions need all four ≤ 1)")
            }
            guard x + width <= Double(imageWidth), y + height <= Double(imageHeight) else {
                throw .invalidArgument("box \(description) reaches past the \(imageWidth)×\(imageHeight) image")
            }
            rect = (Int(x), Int(y), Int(width), Int(height))
        }
        guard rect.width >= Self.minimumSide, rect.height >= Self.minimumSide else {
            throw .invalidArgument(
                "box \(description) is \(rect.width)×\(rect.height) pixels of the \(imageWidth)×\(imageHeight) image; each side must be at least \(Self.minimumSide)")
        }
        return rect
    }

    var description: String {
        [x, y, width, height].map { $0.rounded() == $0 && abs($0) < 1e15 ? String(Int($0)) : String($0) }.joined(separator: ",")
    }
}

extension Substring {
    fileprivate var trimmingASCIISpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
