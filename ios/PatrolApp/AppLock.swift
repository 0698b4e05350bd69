// The app lock on iOS: the store key in a Keychain item that only the person's current
// Face ID / Touch ID opens (SecAccessControl .biometryCurrentSet: adding or removing a
// finger or face makes it unreadable), and a second item opened by the device passcode
// (.devicePasscode): the fallback after a biometric change or lockout. Both are
// kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly: removing the passcode deletes them, and
// with them the key (the person signs in again; unsynced records are lost — the same rule
// as AppLock.keyLostText in app-logic). The policy (when to lock, which prompt) mirrors
// app-logic's AppLock; written without a Swift toolchain at hand, not compiled in CI.
import Foundation
import LocalAuthentication
import Security

enum AppLockKeychain {
    private static let bioAccount = "patrol.db.key.bio"
    private static let passcodeAccount = "patrol.db.key.passcode"
    static let enabledKey = "patrol.lock.enabled"
    static let lockAfterSeconds: TimeInterval = 5 * 60

    static var isEnabled: Bool { UserDefaults.standard.bool(forKey: enabledKey) }

    /// Turns the lock on: [storeKey] goes into both items, then the plain item goes.
    /// Asks for the passcode once (the access control needs the person present to add).
    static func enable(storeKey: Data) -> Bool {
        guard LAContext().canEvaluatePolicy(.deviceOwnerAuthentication, error: nil) else { return false } // no passcode
        let hasBiometry = LAContext().canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: nil)
        guard add(passcodeAccount, storeKey, flags: .devicePasscode) else { return false }
        if hasBiometry { _ = add(bioAccount, storeKey, flags: .biometryCurrentSet) }
        UserDefaults.standard.set(true, forKey: enabledKey)
        Keychain.forgetPlainSecret()
        return true
    }

    /// `rewrapped`: the biometric item was re-made for the current fingers / faces.
    enum Outcome { case key(Data, rewrapped: Bool), cancelled, keyLost }

    /// Reads the store key: Face ID / Touch ID first; if the biometric item is gone
    /// (.biometryCurrentSet made it unreadable after a change), the passcode item, and
    /// then a fresh biometric item for the current set. Blocks: call off the main thread.
    static func unlock(reasonZh: String = "解锁巡检", reasonEn: String = "Unlock Patrol") -> Outcome {
        let reason = Locale.preferredLanguages.first?.hasPrefix("en") == true ? reasonEn : reasonZh
        let bio = LAContext()
        bio.localizedReason = reason
        bio.localizedFallbackTitle = Locale.preferredLanguages.first?.hasPrefix("en") == true ? "Use passcode" : "使用锁屏密码"
        switch read(bioAccount, context: bio) {
        case .found(let key): return .key(key, rewrapped: false)
        case .cancelled: return .cancelled
        case .missing, .failed: break // changed biometrics, lockout, or none enrolled: passcode
        }
        let pass = LAContext()
        pass.localizedReason = reason
        switch read(passcodeAccount, context: pass) {
        case .found(let key):
            // The biometric item is re-made for the current set of fingers / faces.
            delete(bioAccount)
            let re = LAContext().canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: nil)
                && add(bioAccount, key, flags: .biometryCurrentSet)
            return .key(key, rewrapped: re)
        case .cancelled: return .cancelled
        case .missing, .failed: return .keyLost
        }
    }

    private enum Read { case found(Data), missing, cancelled, failed }

    private static func read(_ account: String, context: LAContext) -> Read {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecUseAuthenticationContext as String: context,
        ]
        var item: CFTypeRef?
        switch SecItemCopyMatching(query as CFDictionary, &item) {
        case errSecSuccess: return (item as? Data).map(Read.found) ?? .failed
        case errSecItemNotFound: return .missing
        case errSecUserCanceled: return .cancelled
        default: return .failed
        }
    }

    private static func add(_ account: String, _ secret: Data, flags: SecAccessControlCreateFlags) -> Bool {
        guard let access = SecAccessControlCreateWithFlags(nil, kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly, flags, nil) else { return false }
        Keychain.delete(account)
        return Keychain.add(account, secret, protection: [kSecAttrAccessControl as String: access])
    }

    private static func delete(_ account: String) { Keychain.delete(account) }
}
