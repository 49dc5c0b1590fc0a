import ArgumentParser
import Foundation
import Imaging
import Inference

/// The input of `embed` and `classify`: an image file, or a `.npy` float32 tensor already preprocessed.
enum ModelInput {
    /// Largest file read from the command line (the decoder's own limit applies after).
    static let maxFileBytes = 256 << 20

    static func tensor(
        path: String, model: ImageModel, crop: ModelInputPreprocessor.CropPolicy = .centerSquare
    ) throws -> [Float] {
        let url = URL(fileURLWithPath: path)
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int else { throw ValidationError("cannot read '\(path)'") }
        guard size <= maxFileBytes else { throw ValidationError("'\(path)' is \(size) bytes, over \(maxFileBytes)") }
        let bytes = Array(try Data(contentsOf: url))
        let side = model.inputSize
        if bytes.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
            let array = try NumpyArray(bytes: bytes)
            guard array.shape == [3, side, side] || array.shape == [1, 3, side, side] else {
                throw ValidationError("'\(path)': tensor shape \(array.shape), expected (3, \(side), \(side)) or (1, 3, \(side), \(side))")
            }
            return array.values
        }
        do {
            let image = try ImageDecoder().decode(bytes, minimumShortSide: side).image
            let preprocessor = ModelInputPreprocessor(size: side, mean: model.inputMean, std: model.inputStd, cropPolicy: crop)
            return preprocessor.tensor(from: image)
        } catch {
            throw ValidationError("'\(path)': \(error)")
        }
    }
}
