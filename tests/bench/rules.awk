# SPDX-License-Identifier: ISC
#
# Writes the JSON array of n regex rules for the bench's filters scenario
# (awk -v n=N -f rules.awk; run.sh). The rules are the kind an operator
# writes: word lists (\b...\b, several languages) that drop or bounce, PII
# rewrites (card numbers, IBANs, e-mail addresses, secrets), JID conditions
# on to, from and the session's JID, has-namespace conditions, link
# cleanups, and log rules. Rule r is of kind r % 10, variant r / 10, so 10
# rules hold one of each kind and 100 rules ten of each.
#
# What they must do to the bench's stanza pool (xg-bench-proto.c): the log
# rules (kinds 4, 5 and 8) match it, so text rules really run over the
# bodies; no other rule matches it, because the sink verifies every byte:
# nothing may be dropped, bounced or rewritten. run.sh checks both from
# the proxy's counters. Words and addresses here are therefore chosen to
# be absent from the pool's vocabulary.
BEGIN {
	B = "\\\\" # one backslash, escaped for JSON
	# kind 0: 10 word lists of 8 (spam, scams, malware, piracy, de, ru)
	nw = split("casino jackpot lottery viagra cialis giveaway airdrop " \
	    "doubler refund wiretransfer westernunion moneygram giftcard " \
	    "bitcoins usdt ethereum phishing malware ransomware keylogger " \
	    "botnet exploit rootkit trojan warez keygen crackz serialz " \
	    "torrentz nulled piracy bootleg scam fraud ponzi pyramid mlm " \
	    "forex binaryoption cashback spamming spammer unsubscribe " \
	    "clickbait winner congratulations prize claimnow kasino " \
	    "gewinnspiel lotterie rabatt verlosung gutschein bonuscode " \
	    "freispiele казино лотерея выигрыш скидка бонус кредит займ " \
	    "ставки sweepstakes payday loans mortgage refinance pharmacy " \
	    "pills steroids hacked leaked dump breach combolist stealer " \
	    "carding spyware", W, " ")
	if (nw != 80) {
		print "rules.awk: " nw " words, not 10 lists of 8" > "/dev/stderr"
		exit 1
	}
	# kind 1: PII rewrites, pattern and replacement
	P[0] = B "b(?:" B "d[ -]?){13,16}" B "b"
	R[0] = "[card number removed]"
	P[1] = B "b[A-Z]{2}" B "d{2}(?: ?[A-Z0-9]{4}){3,7}" B "b"
	R[1] = "[IBAN removed]"
	P[2] = B "b" B "d{3}-" B "d{2}-" B "d{4}" B "b"
	R[2] = "[SSN removed]"
	P[3] = "[" B "w.+-]+@[" B "w-]+" B ".[" B "w.-]+"
	R[3] = "[address removed]"
	P[4] = "(?i)" B "b(password|passwd|api[_-]?key|token)" B "s*[:=]" \
	    B "s*" B "S+"
	R[4] = "$1: [removed]"
	# kind 4: words of the pool, one per variant
	split("meeting deploy build coffee lunch thanks tomorrow noon café " \
	    "привет", T, " ")
	# kind 5: namespaces the pool has
	H[0] = "urn:xmpp:receipts"
	H[1] = "http://jabber.org/protocol/chatstates"
	H[2] = "{urn:xmpp:sid:0}origin-id"
	H[3] = "http://jabber.org/protocol/caps"
	H[4] = "http://jabber.org/protocol/muc"
	# kind 6: namespaces the pool lacks
	split("jabber:x:oob urn:xmpp:http:upload:0 urn:xmpp:jingle:1 " \
	    "http://jabber.org/protocol/si urn:xmpp:sims:1 " \
	    "urn:xmpp:file:metadata:0 jabber:x:data urn:xmpp:bob " \
	    "urn:xmpp:jingle:apps:file-transfer:5 jabber:iq:oob", N, " ")
	# kind 7: link and markup cleanups (groups in the replacement)
	C[0] = "(https?://[^" B "s?]+)" B "?(?:utm_[a-z]+=[^&" B "s]*&?)+"
	D[0] = "$1"
	C[1] = "(?i)" B "b(?:javascript|vbscript):"
	D[1] = "blocked:"
	C[2] = B "b(" B "d{1,3})" B ".(" B "d{1,3})" B ".(" B "d{1,3})" B \
	    ".(" B "d{1,3})" B "b"
	D[2] = "$1.$2.x.x"
	C[3] = "(?i)(https?://)(?:www" B ".)?(?:bit" B ".ly|tinyurl" B \
	    ".com|t" B ".co)/" B "S+"
	D[3] = "$1[short link removed]"
	C[4] = "[" B "x{202A}-" B "x{202E}" B "x{2066}-" B "x{2069}]+"
	D[4] = "[bidi]"
	# kind 8: logged text the pool has
	L[0] = "(?i)https?://" B "S+"
	L[1] = B "p{Cyrillic}+"
	L[2] = B "p{Han}"
	L[3] = "[" B "x{1F300}-" B "x{1FAFF}]"
	L[4] = B "p{Arabic}"
	L[5] = B "p{Hebrew}"
	L[6] = B "p{Greek}+"
	L[7] = "(?i)" B "bfailed" B "b"
	L[8] = "[&<>]"
	L[9] = "(?i)" B "b(?:ok|lol|thanks)" B "b"

	printf "["
	for (r = 0; r < n; r++) {
		printf "%s\n    ", r ? "," : ""
		rule(r % 10, int(r / 10))
	}
	printf "\n  ]\n"
}

# The words of list i (kind 0 uses i, kind 9 another list), joined by |.
function words(i, s, j) {
	s = W[i * 8 + 1]
	for (j = 2; j <= 8; j++)
		s = s "|" W[i * 8 + j]
	return s
}

function rule(k, i, name) {
	name = "\"name\": \"k" k "-" i "\", \"type\": \"regex\", "
	if (k == 0)
		printf "{ %s\"direction\": \"c2s\", \"action\": \"%s\", " \
		    "\"match\": { \"stanza\": [\"message\"], " \
		    "\"text\": \"(?i)%sb(?:%s)%sb\" } }", name,
		    i % 2 ? "bounce" : "drop", B, words(i), B
	else if (k == 1)
		printf "{ %s\"direction\": \"%s\", \"action\": \"rewrite\", " \
		    "\"match\": { \"text\": \"%s\" }, \"replace\": \"%s\" }",
		    name, i < 5 ? "c2s" : "both", P[i % 5], R[i % 5]
	else if (k == 2)
		printf "{ %s\"direction\": \"c2s\", \"action\": \"drop\", " \
		    "\"match\": { \"to\": [\"*@spam%d.example\", " \
		    "\"*@*.spam%d.example\"] } }", name, i, i
	else if (k == 3)
		printf "{ %s\"direction\": \"s2c\", \"action\": \"bounce\", " \
		    "\"match\": { \"from\": [\"*@blocked%d.example\", " \
		    "\"bot*@*.blocked%d.example/*\"] } }", name, i, i
	else if (k == 4)
		printf "{ %s\"action\": \"log\", \"match\": { " \
		    "\"session_jid\": [\"bench@localhost\", " \
		    "\"*@localhost/flood*\"], " \
		    "\"text\": \"(?i)%sb%s%sb\" } }", name, B, T[i + 1], B
	else if (k == 5)
		printf "{ %s\"action\": \"log\", \"match\": { " \
		    "\"stanza\": [\"%s\"], \"has\": [\"%s\"] } }", name,
		    i % 5 < 3 ? "message" : "presence", H[i % 5]
	else if (k == 6)
		printf "{ %s\"action\": \"drop\", \"match\": { " \
		    "\"has\": [\"%s\"], \"text\": \"(?i)%s.(?:exe|scr|bat|" \
		    "cmd|js|vbs|msi|jar)%sb\" } }", name, N[i + 1], B, B
	else if (k == 7)
		printf "{ %s\"action\": \"rewrite\", \"match\": { " \
		    "\"stanza\": [\"message\"], \"text\": \"%s\" }, " \
		    "\"replace\": \"%s\" }", name, C[i % 5], D[i % 5]
	else if (k == 8)
		printf "{ %s\"action\": \"log\", \"match\": { " \
		    "\"text\": \"%s\" } }", name, L[i]
	else
		printf "{ %s\"direction\": \"%s\", \"action\": \"%s\", " \
		    "\"match\": { \"stanza\": [\"message\"], " \
		    "\"type\": [\"%s\"], \"text\": \"(?i)%sb(?:%s)%sb\" } }",
		    name, i % 2 ? "s2c" : "c2s", i % 2 ? "drop" : "close",
		    i % 2 ? "headline" : "groupchat", B, words((i + 5) % 10), B
}
