import Testing
import Glibc
@testable import TendLinux

@Suite struct AccountsTests {
    @Test func getentLinesAreRead() {
        #expect(Accounts.parsePasswd("api:x:998:997:API,,,:/srv/api:/usr/sbin/nologin\n")
            == Accounts.User(name: "api", uid: 998, gid: 997, home: "/srv/api", shell: "/usr/sbin/nologin"))
        #expect(Accounts.parsePasswd("api:x:998:997::/srv/api") == nil)
        #expect(Accounts.parsePasswd("api:x:uid:997::/srv/api:/bin/sh") == nil)
        #expect(Accounts.parseGroup("www-data:x:33:api,web\n") == 33)
        #expect(Accounts.parseGroup("www-data:x:33") == nil)
        #expect(Accounts.parseInitgroups("api                   27 33 100\n") == [27, 33, 100])
        #expect(Accounts.parseInitgroups("root                 \n") == [])
    }

    @Test func theSystemsAccountsAreFound() throws {
        let root = try #require(try Accounts.user("root"))
        #expect(root.uid == 0 && root.gid == 0 && root.home == "/root")
        #expect(try Accounts.user("0")?.name == "root")
        #expect(try Accounts.user("tend-test-no-such-user") == nil)
        #expect(try Accounts.group("root") == 0)
        #expect(try Accounts.group("tend-test-no-such-group") == nil)
        // An option-like name is a key, not an option of getent.
        #expect(try Accounts.user("--help") == nil)
    }

    /// getent asked at once, as the loop would later.
    func identity(user: String?, group: String?) -> Result<Accounts.Identity, Accounts.Failure>? {
        var result: Result<Accounts.Identity, Accounts.Failure>?
        Accounts.identity(user: user, group: group, getent: { database, key, answer in
            do throws(Accounts.Failure) { answer(.success(try Accounts.getent(database, key))) } catch { answer(.failure(error)) }
        }, done: { result = $0 })
        return result
    }

    @Test func anIdentityIsTheUsersWithItsGroupsOrTheGroupNamed() throws {
        let root = try #require(try identity(user: "root", group: nil)?.get())
        #expect(root.uid == 0 && root.gid == 0 && root.groups.first == 0 && root.account?["HOME"] == "/root")
        let nobody = try #require(try identity(user: "nobody", group: "root")?.get())
        #expect(nobody.uid == 65534 && nobody.gid == 0 && nobody.groups.first == 65534)
        let groupOnly = try #require(try identity(user: nil, group: "4242")?.get())
        #expect(groupOnly.uid == getuid() && groupOnly.gid == 4242 && groupOnly.groups == [4242] && groupOnly.account == nil)
        // A uid without an entry is taken as systemd's User= takes it; a name without one is not.
        #expect(try identity(user: "4243", group: nil)?.get().uid == 4243)
        #expect(throws: Accounts.Failure.self) { try identity(user: "tend-test-no-such-user", group: nil)?.get() }
        #expect(throws: Accounts.Failure.self) { try identity(user: nil, group: "tend-test-no-such-group")?.get() }
    }

    /// As tend runs it: signals blocked (its signalfd's) and one ignored; getent gets neither.
    @Test func getentRunsWithAnEmptyMaskAndDefaultSignals() throws {
        let dir = try #require(mkdtemp(strdup("/tmp/tend-accounts-XXXXXX")).map { String(cString: $0) })
        defer { unlink("\(dir)/show"); rmdir(dir) }
        let fd = open("\(dir)/show", O_WRONLY | O_CREAT, 0o755)
        // Not a shell: dash clears its signal mask at start.
        let script = "#!/usr/bin/python3\nprint(''.join(l for l in open('/proc/self/status') if l.startswith(('SigBlk', 'SigIgn'))), end='')\n"
        _ = script.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        var blocked = sigset_t(), before = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &blocked, &before)
        let previous = signal(SIGUSR2, SIG_IGN)
        let output = try Accounts.getent("passwd", "api", program: "\(dir)/show")
        signal(SIGUSR2, previous)
        pthread_sigmask(SIG_SETMASK, &before, nil)
        let masks = (output ?? "").split(separator: "\n").map { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        #expect(masks.count == 2 && masks[0] == 0, "\(output ?? "")")
        // SIGUSR2 at its default again (glibc's posix_spawn leaves its own signals 32 and 33 ignored).
        #expect(masks.count == 2 && (masks[1] ?? 1) & (1 << (SIGUSR2 - 1)) == 0, "\(output ?? "")")
    }

    @Test func aLookupThatHangsOrFailsIsAFailure() throws {
        let dir = try #require(mkdtemp(strdup("/tmp/tend-accounts-XXXXXX")).map { String(cString: $0) })
        defer { unlink("\(dir)/hang"); unlink("\(dir)/fail"); rmdir(dir) }
        for (name, body) in [("hang", "exec sleep 30"), ("fail", "exit 1")] {
            let fd = open("\(dir)/\(name)", O_WRONLY | O_CREAT, 0o755)
            _ = "#!/bin/sh\n\(body)\n".withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        let start = time(nil)
        #expect(throws: Accounts.Failure.self) { try Accounts.getent("passwd", "api", program: "\(dir)/hang", timeout: 0.3) }
        // Killed at its deadline: tend waits no longer than that.
        #expect(time(nil) - start < 10)
        do {
            _ = try Accounts.getent("passwd", "api", program: "\(dir)/fail")
            Issue.record("a getent that exits 1 gave an answer")
        } catch {
            #expect(error.description == "getent passwd api: exited with 1")
        }
    }
}
