/// Defaults and bounds of listings and duplicate groups: their one home (the API's parameter declarations and
/// its OpenAPI document read them).
public enum Paging {
    /// Records or groups per page.
    public static let defaultLimit = 100
    public static let limitRange = 1...1000
    /// Nearest neighbours each image is joined with when grouping duplicates.
    public static let defaultNeighbours = 10
    public static let neighboursRange = 1...1000
    /// The cosine at or above which two images are grouped as duplicates.
    public static let defaultThreshold = 0.92
}
