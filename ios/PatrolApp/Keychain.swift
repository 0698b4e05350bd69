// A per-install secret in the Keychain (this device only, after first unlock), meant as
// the database key once the core takes one.
import Foundation
import Security

enum Keychain {
    private static let account = "patrol.db.key"

    /// The secret, made on first use; nil while the Keychain cannot be read. That happens
    /// when iOS launches the app for a background task before the phone was first
    /// unlocked since it started: then no new secret is made (it would differ from the
    /// stored one, which is only unreadable for now).
    static func deviceSecret() -> Data? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        let found = SecItemCopyMatching(query as CFDictionary, &item)
        if found == errSecSuccess, let data = item as? Data { return data }
        guard found == errSecItemNotFound else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes) == errSecSuccess else { return nil }
        let secret = Data(bytes)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecValueData as String: secret,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        return SecItemAdd(add as CFDictionary, nil) == errSecSuccess ? secret : nil
    }
}
