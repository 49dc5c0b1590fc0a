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

    /// The syntax ``init(parsing:)`` accepts, as a regular expression (the OpenAPI document states it).
    public static let syntax = #"^[0-9]{1,9}(\.[0-9]{1,9})?(,[0-9]{1,9}(\.[0-9]{1,9})?){3}$"#

    /// Parses `x,y,w,h`: four unsigned decimal numbers (digits, optionally a point and digits). Whether they fit
    /// an image is ``pixels(imageWidth:imageHeight:)``'s question.
    public init(parsing text: String) throws(ImagingError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        func isDigits(_ part: Substring) -> Bool { (1...9).contains(part.utf8.count) && part.utf8.allSatisfy { (48...57).contains($0) } }
        let wellFormed = parts.count == 4 && parts.allSatisfy { part in
            let halves = part.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            return halves.allSatisfy(isDigits)
        }
        guard wellFormed else {
            throw .invalidArgument("box must be four numbers x,y,w,h (pixels, or fractions when all are ≤ 1), got '\(text.prefix(80))'")
        }
        let numbers = parts.map { Double($0)! }
        self.init(x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3])
    }

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The region in whole pixels of an upright `imageWidth`×`imageHeight` image; ``ImagingError/regionDoesNotFit(_:)``
    /// when it does not lie inside the image or is smaller than ``minimumSide``.
    public func pixels(imageWidth: Int, imageHeight: Int) throws(ImagingError) -> (x: Int, y: Int, width: Int, height: Int) {
        let rect: (x: Int, y: Int, width: Int, height: Int)
        if isFractional {
            // A fraction's far edge may overshoot 1 by rounding (0.3 + 0.7): allow a hair, then clamp.
            guard x + width <= 1 + 1e-9, y + height <= 1 + 1e-9 else {
                throw .regionDoesNotFit("box \(description) (fractions) reaches past the image: x + w and y + h must be ≤ 1")
            }
            let left = Int((x * Double(imageWidth)).rounded()), top = Int((y * Double(imageHeight)).rounded())
            let right = min(imageWidth, Int(((x + width) * Double(imageWidth)).rounded()))
            let bottom = min(imageHeight, Int(((y + height) * Double(imageHeight)).rounded()))
            rect = (left, top, right - left, bottom - top)
        } else {
            guard [x, y, width, height].allSatisfy({ $0.rounded() == $0 }) else {
                throw .regionDoesNotFit("box \(description) in pixels must be whole numbers (fractions need all four ≤ 1)")
            }
            guard x + width <= Double(imageWidth), y + height <= Double(imageHeight) else {
                throw .regionDoesNotFit("box \(description) reaches past the \(imageWidth)×\(imageHeight) image")
            }
            rect = (Int(x), Int(y), Int(width), Int(height))
        }
        guard rect.width >= Self.minimumSide, rect.height >= Self.minimumSide else {
            throw .regionDoesNotFit(
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
