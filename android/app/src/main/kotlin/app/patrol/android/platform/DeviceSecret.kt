// The store key: 32 random bytes per install, kept wrapped (AES-GCM) by an AES key that
// never leaves the Android Keystore (hardware-backed where the phone has it). The core
// encrypts its store with it (CoreConfig.storeKey, SQLCipher). A key change keeps the
// new key as "pending" until the core has re-keyed the store, so a kill in between
// never leaves a store whose key is lost (docs/mobile-core.md, "Encryption at rest").
package app.patrol.android.platform

import android.content.Context
import android.content.SharedPreferences
import android.util.Base64
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import uniffi.patrol_core.PatrolCore

object DeviceSecret {
    private const val ALIAS = "patrol.db.wrap"
    private const val PREFS = "patrol.secret"
    private const val WRAPPED = "wrapped"
    private const val PENDING = "pending"

    /** The store key; made on first call, unwrapped from the Keystore afterwards. With the
     *  app lock on there is no plain wrap: the key comes from StoreKeyLock.unlock, and
     *  making a new one here would lock the store away for good, so this refuses. */
    @Synchronized
    fun getOrCreate(context: Context): ByteArray {
        check(!StoreKeyLock.isEnabled(context)) { "the app lock holds the store key" }
        val prefs = prefs(context)
        read(prefs, WRAPPED)?.let { return it }
        return fresh().also { write(prefs, WRAPPED, it) }
    }

    /** The key of a key change that may have been cut short (the store may already be
     *  under it): the app opens with it when the current key is refused. */
    @Synchronized
    fun pending(context: Context): ByteArray? = read(prefs(context), PENDING)

    /** The pending key opened the store: it is the key from now on. */
    @Synchronized
    fun promotePending(context: Context) {
        val prefs = prefs(context)
        prefs.getString(PENDING, null)?.let { prefs.edit().putString(WRAPPED, it).remove(PENDING).commit() }
    }

    /** Changes the store key: the new key is kept (as pending) before the core re-keys,
     *  and becomes the key once it has. Off the main thread: the store is copied. */
    @Synchronized
    fun rotate(context: Context, core: PatrolCore) {
        val prefs = prefs(context)
        val next = fresh()
        write(prefs, PENDING, next)
        core.rekeyStore(next)
        promotePending(context)
    }

    /** The app lock now wraps the key (StoreKeyLock.enable): the plain wrap goes. */
    @Synchronized
    fun forgetPlainWrap(context: Context) {
        check(prefs(context).edit().remove(WRAPPED).commit())
    }

    /** The app lock is turned off: [storeKey] goes back under the plain wrap. */
    @Synchronized
    fun restorePlainWrap(context: Context, storeKey: ByteArray) = write(prefs(context), WRAPPED, storeKey)

    private fun prefs(context: Context): SharedPreferences = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    private fun fresh(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    private fun read(prefs: SharedPreferences, slot: String): ByteArray? {
        val stored = prefs.getString(slot, null) ?: return null
        val (iv, sealed) = stored.split(":").map { Base64.decode(it, Base64.NO_WRAP) }
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, iv))
        return c.doFinal(sealed)
    }

    /** Wraps and stores [secret]; `commit`, not `apply`: on disk before the store uses it. */
    private fun write(prefs: SharedPreferences, slot: String, secret: ByteArray) {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, wrappingKey())
        val sealed = c.doFinal(secret)
        val text = Base64.encodeToString(c.iv, Base64.NO_WRAP) + ":" + Base64.encodeToString(sealed, Base64.NO_WRAP)
        check(prefs.edit().putString(slot, text).commit()) { "the store key could not be saved" }
    }

    private fun wrappingKey(): SecretKey = checkNotNull(KeystoreKeys.aesGcm(ALIAS)) { "no Keystore key" }
}
