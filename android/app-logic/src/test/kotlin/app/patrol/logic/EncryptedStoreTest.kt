// The phone's store encrypted at rest, through the generated bindings as the app uses
// them: the key in CoreConfig, nothing readable in the files, a wrong key refused as
// PatrolException.WrongKey with nothing changed, the key changed with rekeyStore.
package app.patrol.logic

import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import uniffi.patrol_core.PatrolCore
import uniffi.patrol_core.PatrolException
import uniffi.patrol_core.SignedInPerson

class EncryptedStoreTest {
    private val secretName = "KOTLIN-4417 保安队长王建国"
    private val person = SignedInPerson("01900000-0000-7000-8000-000000000abc", secretName, emptyList(), false)

    /** The database and its write-ahead log (the -shm index of the log is no data). */
    private fun dataFiles(dir: File): Map<String, ByteArray> =
        dir.listFiles()!!.filter { it.isFile && !it.name.endsWith("-shm") }.associate { it.name to it.readBytes() }

    private fun holds(bytes: ByteArray, text: String): Boolean {
        val needle = text.toByteArray(Charsets.UTF_8)
        return (0..bytes.size - needle.size).any { i -> needle.indices.all { bytes[i + it] == needle[it] } }
    }

    private fun sameFiles(a: Map<String, ByteArray>, b: Map<String, ByteArray>) {
        assertEquals(a.keys, b.keys)
        a.forEach { (name, bytes) -> assertContentEquals(bytes, b[name], "$name changed") }
    }

    @Test
    fun `the store is encrypted with the key from CoreConfig and a wrong key changes nothing`() {
        // A plain store first: the search finds the name there, so it would find a leak.
        val plainDir = Fixtures.dataDir("plain")
        val plain = PatrolCore.open(Fixtures.config(plainDir, key = null))
        plain.signInLocally(person)
        assertTrue(dataFiles(plainDir).values.any { holds(it, secretName) }, "a plain store shows the name")
        plain.destroy()

        val dir = Fixtures.dataDir("encrypted")
        val phone = PatrolCore.open(Fixtures.config(dir))
        phone.signInLocally(person)
        val files = dataFiles(dir)
        assertTrue(files.containsKey("patrol.sqlite-wal"), "${files.keys}")
        files.forEach { (name, bytes) ->
            assertFalse(holds(bytes, secretName), "$name shows the name")
            assertFalse(holds(bytes, "SQLite format 3"), "$name is plain SQLite")
        }
        phone.destroy()

        val before = dataFiles(dir)
        val wrong = ByteArray(32) { 0x5a }
        for (key in listOf(wrong, null)) {
            val e = assertFailsWith<PatrolException.WrongKey> { PatrolCore.open(Fixtures.config(dir, key)) }
            assertTrue(e.detailZh.contains("密钥"), e.detailZh)
            assertEquals(ErrorKind.WRONG_STORE_KEY, e.toUiError().kind)
            assertTrue(e.toUiError().text(Lang.EN).contains("nothing was changed"), e.detail)
            sameFiles(before, dataFiles(dir))
        }
        val short = assertFailsWith<PatrolException.InvalidInput> { PatrolCore.open(Fixtures.config(dir, ByteArray(16))) }
        assertEquals("store_key", short.field)
        sameFiles(before, dataFiles(dir))

        val again = PatrolCore.open(Fixtures.config(dir))
        assertEquals(secretName, again.signedInPerson()?.displayName)
        again.destroy()
    }

    @Test
    fun `rekeyStore changes the key and the old one then fails`() {
        val dir = Fixtures.dataDir("rekey")
        val phone = PatrolCore.open(Fixtures.config(dir))
        phone.signInLocally(person)
        val newKey = ByteArray(32) { (255 - it).toByte() }
        phone.rekeyStore(newKey)
        assertEquals(secretName, phone.signedInPerson()?.displayName, "the open core goes on with the new key")
        assertFailsWith<PatrolException.InvalidInput> { phone.rekeyStore(newKey) }
        phone.destroy()

        assertFailsWith<PatrolException.WrongKey> { PatrolCore.open(Fixtures.config(dir, Fixtures.storeKey)) }
        val reopened = PatrolCore.open(Fixtures.config(dir, newKey))
        assertEquals(secretName, reopened.signedInPerson()?.displayName)
        reopened.destroy()
    }
}
