// The store key: 32 random bytes per install in the Keychain (this device only, after
// first unlock). The core encrypts its store with it (CoreConfig.storeKey, SQLCipher).
// A key change keeps the new key as "pending" until the core has re-keyed the store, so
// a kill in between never leaves a store whose key is lost (docs/mobile-core.md,
// "Encryption at rest").
import Foundation
import Security

enum Keychain {
    private static let account = "patrol.db.key"
    private static let pendingAccount = "patrol.db.key.pending"

    /// The key, made on first use; nil while the Keychain cannot be read. That happens
    /// when iOS launches the app for a background task before the phone was first
    /// unlocked since it started: then no new key is made (it would differ from the
    /// stored one, which is only unreadable for now).
    static func deviceSecret() -> Data? {
        // With the app lock on there is no plain item, and a new key would lock the
        // store away: the key comes from AppLockKeychain.unlock instead.
        if AppLockKeychain.isEnabled { return nil }
        switch read(account) {
        case .found(let data): return data
        case .unreadable: return nil
        case .missing:
            guard let secret = fresh(), add(account, secret) else { return nil }
            return secret
        }
    }

    /// The app lock now keeps the key (AppLockKeychain.enable): the plain item goes.
    static func forgetPlainSecret() { delete(account) }

    /// The key of a key change that may have been cut short (the store may already be
    /// under it): tried when the current key is refused.
    static func pendingSecret() -> Data? {
        if case .found(let data) = read(pendingAccount) { return data }
        return nil
    }

    /// The pending key opened the store: it is the key from now on.
    static func promotePending() {
        guard let next = pendingSecret() else { return }
        delete(account)
        if add(account, next) { delete(pendingAccount) }
    }

    /// Changes the store key: the new key is kept (as pending) before the core re-keys,
    /// and becomes the key once it has. Off the main thread: the store is copied.
    static func rotate(_ core: PatrolCore) throws {
        guard let next = fresh() else { return }
        delete(pendingAccount)
        guard add(pendingAccount, next) else { return }
        try core.rekeyStore(newKey: next)
        promotePending()
    }

    private enum Lookup { case found(Data), missing, unreadable }

    private static func read(_ name: String) -> Lookup {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: name,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        let found = SecItemCopyMatching(query as CFDictionary, &item)
        if found == errSecSuccess, let data = item as? Data { return .found(data) }
        return found == errSecItemNotFound ? .missing : .unreadable
    }

    private static func fresh() -> Data? {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes) == errSecSuccess else { return nil }
        return Data(bytes)
    }

    /// Adds a secret as a generic-password item; `protection` says when it can be read:
    /// after the first unlock on this device by default, or an access control (the app
    /// lock's passcode or biometry items, AppLockKeychain).
    static func add(
        _ name: String,
        _ secret: Data,
        protection: [String: Any] = [kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly]
    ) -> Bool {
        var add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: name,
            kSecValueData as String: secret,
        ]
        add.merge(protection) { _, given in given }
        return SecItemAdd(add as CFDictionary, nil) == errSecSuccess
    }

    static func delete(_ name: String) {
        let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword, kSecAttrAccount as String: name]
        SecItemDelete(query as CFDictionary)
    }
}
