/// Every failure the library reports. The C ABI maps each case to a stable error code, so a case is never
/// renumbered, only added.
public enum LearnedIndexError: Error, Equatable, Sendable {
    /// A model was asked to learn zero keys.
    case emptyKeySet
    /// Keys fed to a build were not in ascending order; `position` is the first key out of order.
    case unsortedKeys(position: Int)
    /// A parameter is outside its documented range.
    case invalidArgument
    /// A serialised blob ended before its declared length.
    case truncated
    /// A serialised blob does not start with the expected magic number.
    case badMagic
    /// A serialised blob was written by a layout version this code does not read.
    case unsupportedVersion(UInt16)
    /// A serialised blob's CRC32C does not match its contents.
    case checksumMismatch
    /// A serialised blob passed its checksum but describes an impossible structure.
    case corrupt
}
