#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import OmenEngine

/// Group commit: committers append while another's flush is writing. The position `append` hands out must
/// be where the record ends in the file (as a replay finds it), and when `waitDurable` for it returns the
/// file must already reach it.
@Suite struct WriteAheadLogTests {
    final class Committer: @unchecked Sendable {
        let log: WriteAheadLog
        let path: String
        let worker: UInt8
        let records: Int
        var failures: [String] = []
        var positions: [UInt64] = []
        init(log: WriteAheadLog, path: String, worker: UInt8, records: Int) {
            self.log = log
            self.path = path
            self.worker = worker
            self.records = records
        }

        func run() {
            for number in 0..<records {
                let payload = [worker] + withUnsafeBytes(of: UInt32(number).littleEndian, Array.init) + [UInt8](repeating: worker, count: number % 200)
                do {
                    let position = try log.append(payload)
                    positions.append(position.offset)
                    try log.waitDurable(position)
                    var status = stat()
                    stat(path, &status)
                    if UInt64(status.st_size) < position.offset {
                        failures.append("record \(number) told durable at \(position.offset), file holds \(status.st_size) bytes")
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
    }

    @Test func everyRecordToldDurableIsInTheFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try WriteAheadLog(directory: directory.path, sequence: 1, offset: 0)
        let path = directory.file(WriteAheadLog.fileName(1))
        let records = environmentInt("OMEN_ENGINE_WAL_RECORDS", default: 2_000)
        let committers = (1...4).map { Committer(log: log, path: path, worker: UInt8($0), records: records) }
        var threads: [pthread_t] = []
        for committer in committers {
            var thread = pthread_t()
            pthread_create(&thread, nil, { context in
                Unmanaged<Committer>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, Unmanaged.passRetained(committer).toOpaque())
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        for committer in committers { #expect(committer.failures.isEmpty, "\(committer.failures.prefix(3))") }
        var next = [UInt32](repeating: 0, count: 5)
        var misplaced = 0
        _ = try WriteAheadLog.replay(directory: directory.path, from: LogPosition(file: 1, offset: 0)) { reader, end throws(EngineError) in
            let worker = Int(try reader.u8())
            let number = try reader.u32()
            #expect(number == next[worker], "worker \(worker)'s records out of order")
            if committers[worker - 1].positions[Int(number)] != end.offset { misplaced += 1 }
            next[worker] = number + 1
        }
        #expect(misplaced == 0, "\(misplaced) records end elsewhere than append said")
        #expect(next.dropFirst().allSatisfy { $0 == UInt32(records) }, "\(next)")
    }
}
