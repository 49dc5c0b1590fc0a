extension RGBImage {
    /// The image without uniform margins: rows and columns at each edge whose pixels (98 % of them) lie within
    /// `tolerance` levels of that edge's corner colour. Added borders and letterboxing then stop shrinking the
    /// content the model sees. Nothing is trimmed when less than `minimumKept` of either side would remain (an
    /// image that is mostly flat colour stays whole).
    public func trimmingUniformBorders(tolerance: Int = 12, minimumKept: Double = 0.3) -> RGBImage {
        var (top, bottom, left, right) = (0, height - 1, 0, width - 1)
        let topLeft = pixel(x: 0, y: 0), bottomRight = pixel(x: width - 1, y: height - 1)

        func near(_ x: Int, _ y: Int, _ colour: (Int, Int, Int)) -> Bool {
            let value = pixel(x: x, y: y)
            return abs(value.0 - colour.0) <= tolerance && abs(value.1 - colour.1) <= tolerance && abs(value.2 - colour.2) <= tolerance
        }
        func uniformRow(_ y: Int, _ colour: (Int, Int, Int)) -> Bool {
            let outliers = (left...right).reduce(0) { $0 + (near($1, y, colour) ? 0 : 1) }
            return outliers * 50 <= right - left + 1
        }
        func uniformColumn(_ x: Int, _ colour: (Int, Int, Int)) -> Bool {
            let outliers = (top...bottom).reduce(0) { $0 + (near(x, $1, colour) ? 0 : 1) }
            return outliers * 50 <= bottom - top + 1
        }
        while top < bottom && uniformRow(top, topLeft) { top += 1 }
        while bottom > top && uniformRow(bottom, bottomRight) { bottom -= 1 }
        while left < right && uniformColumn(left, topLeft) { left += 1 }
        while right > left && uniformColumn(right, bottomRight) { right -= 1 }

        let (keptWidth, keptHeight) = (right - left + 1, bottom - top + 1)
        guard keptWidth < width || keptHeight < height else { return self }
        guard Double(keptWidth) >= minimumKept * Double(width), Double(keptHeight) >= minimumKept * Double(height),
              keptWidth >= 16, keptHeight >= 16 else { return self }
        return cropped(x: left, y: top, width: keptWidth, height: keptHeight)
    }

    private func pixel(x: Int, y: Int) -> (Int, Int, Int) {
        let offset = (y * width + x) * 3
        return (Int(pixels[offset]), Int(pixels[offset + 1]), Int(pixels[offset + 2]))
    }
}
