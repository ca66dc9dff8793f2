//go:build ignore

// Writes common-passwords.txt: passwords of at least 8 characters that sit at the top of
// published breach-frequency rankings, plus the mechanical variants people make of them
// (a capital first letter, digits, a year or "!" appended, simple letter-for-digit swaps).
// The seed words are well-known facts of those rankings; the file is built here, not
// copied. Run: go generate ./internal/domain
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Whole passwords that appear as they are near the top of the rankings.
var whole = []string{
	"12345678", "123456789", "1234567890", "12345678910", "123123123", "123321123", "1234512345",
	"987654321", "87654321", "9876543210", "11223344", "112233445566", "12341234", "123456123456",
	"147258369", "159753159753", "147852369", "741852963", "963852741", "789456123", "1q2w3e4r",
	"1q2w3e4r5t", "1q2w3e4r5t6y", "1qaz2wsx", "1qaz2wsx3edc", "qazwsxedc", "qwertyuiop", "asdfghjkl",
	"zxcvbnm123", "qwerty123", "qwerty1234", "qwertyui", "qwer1234", "asdf1234", "zaq12wsx", "zaq1zaq1",
	"!qaz2wsx", "q1w2e3r4", "q1w2e3r4t5", "a1b2c3d4", "abcd1234", "abc12345", "abcdefgh", "abcdefg1",
	"password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd",
	"p@ssword", "pa$$word", "iloveyou", "iloveyou1", "iloveyou2", "trustno1", "letmein1", "letmein123",
	"welcome1", "welcome123", "sunshine1", "princess1", "football1", "baseball1", "superman1",
	"whatever", "whatever1", "changeme", "changeme1", "default1", "administrator", "adminadmin",
	"admin123", "admin1234", "administrator1", "rootroot", "root1234", "test1234", "testtest",
	"test12345", "guest123", "user1234", "login123", "master123", "secret123", "letmeinnow",
	"starwars1", "pokemon1", "computer1", "internet1", "michael1", "jennifer1", "jordan23", "loveyou1",
	"babygirl1", "lovelove", "iloveu123", "fuckyou1", "mustang1", "shadow12", "monkey123", "dragon123",
	"11111111", "00000000", "88888888", "66666666", "12121212", "69696969", "13131313", "22222222",
	"aaaaaaaa", "qqqqqqqq", "zzzzzzzz", "xxxxxxxx", "01012000", "01011990", "newpassword", "mypassword",
	"nopassword", "password!", "qwerty!@#", "1234qwer", "qweasdzxc", "qweasd123", "asdasdasd",
	"qweqweqwe", "zxczxczxc", "123qweasd", "123qwe123", "asd123456", "aa123456", "aa12345678",
	"a123456789", "a12345678", "q1234567", "qwe12345", "1234abcd", "12345qwert", "123456abc",
	"123456qwerty", "qwerty123456", "0987654321", "1029384756", "5201314520", "woaini1314",
}

// Words that, with digits or symbols added, fill most of the rest of the rankings.
var words = []string{
	"password", "qwerty", "iloveyou", "princess", "dragon", "sunshine", "football", "baseball",
	"monkey", "letmein", "welcome", "admin", "master", "shadow", "superman", "batman", "starwars",
	"michael", "jennifer", "jordan", "hunter", "ranger", "buster", "soccer", "hockey", "killer",
	"charlie", "andrew", "michelle", "jessica", "pepper", "ginger", "summer", "flower", "cookie",
	"computer", "freedom", "nicole", "daniel", "thomas", "matthew", "ashley", "tigger", "purple",
	"orange", "chelsea", "liverpool", "arsenal", "samsung", "google", "internet", "secret", "login",
	"abc123", "asdfgh", "zxcvbn", "qazwsx", "trustno", "mustang", "access", "lovely", "angel",
	"babygirl", "butterfly", "chocolate", "cheese", "jesus", "christ", "blessed", "loveme", "lover",
	"family", "forever", "friends", "hello", "hellokitty", "diamond", "silver", "golden", "yellow",
	"banana", "apple", "orange", "peanut", "snoopy", "mickey", "minnie", "pokemon", "naruto",
	"matrix", "phoenix", "thunder", "warrior", "legend", "player", "gamer", "winner", "dallas",
	"yankees", "lakers", "cowboys", "eagles", "steelers", "packers", "chicago", "london", "paris",
	"berlin", "madrid", "barcelona", "juventus", "manchester", "america", "canada", "mexico",
	"robert", "william", "richard", "joseph", "george", "anthony", "joshua", "justin", "taylor",
	"austin", "sophie", "jasmine", "maggie", "bailey", "harley", "ferrari", "porsche", "mercedes",
	"corvette", "yamaha", "honda", "toyota", "nissan", "spider", "spiderman", "ironman", "pass",
	"test", "guest", "user", "root", "changeme", "default", "system", "server", "oracle", "mysql",
	"welcome", "qwerty", "whatever", "nothing", "something", "anything", "monday", "friday",
	"sunday", "january", "december", "spring", "winter", "autumn", "soccer", "tennis", "golfer",
	"fishing", "hunting", "music", "guitar", "piano", "dance", "happy", "smile", "sweet", "honey",
	"sugar", "candy", "kitty", "puppy", "doggy", "tiger", "lion", "bear", "wolf", "eagle", "falcon",
	"hammer", "rocket", "zombie", "ninja", "pirate", "wizard", "merlin", "gandalf", "frodo",
	"evently", "ticket", "tickets", "concert", "event",
}

var suffixes = []string{"", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "01", "007", "69", "99",
	"2020", "2021", "2022", "2023", "2024", "2025", "2026", "@123", "#1"}

// leet is the letter-for-symbol swap people believe makes a word strong.
var leet = strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$")

func main() {
	set := map[string]bool{}
	add := func(p string) {
		if len(p) >= 8 && len(p) <= 64 {
			set[strings.ToLower(p)] = true
		}
	}
	for _, w := range whole {
		add(w)
	}
	for _, w := range words {
		for _, s := range suffixes {
			add(w + s)
		}
		for _, s := range []string{"", "1", "123", "!"} {
			add(w + w + s)
			add(leet.Replace(w) + s)
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	var b strings.Builder
	b.WriteString("# Common and breached passwords (lower-cased, 8+ characters), refused at sign-up and\n")
	b.WriteString("# password change. Built by gen_common_passwords.go; extend the seed lists there.\n")
	for _, p := range out {
		b.WriteString(p + "\n")
	}
	if err := os.WriteFile("common-passwords.txt", []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
