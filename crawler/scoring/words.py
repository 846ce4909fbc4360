"""The word lists of the scorer: one alternative per line (re.VERBOSE).

In a verbose pattern a space is written `\\ ` and `#` as `\\#`; everything
else reads as it matches. Dutch and English: the crawl's queries are both.
A new word is a new line in one list; `tests/test_scoring_words.py` holds
sentences that must and must not match.
"""

from __future__ import annotations

import re

VERBOSE = re.I | re.X

# A remote-access tool or the offer of remote access, named in the text.
REMOTE_TOOLS = re.compile(
    r"""
    \b(
        anydesk
      | teamviewer
      | ultraviewer
      | supremo
      | rustdesk
      | logmein
      | splashtop
      | screenconnect
      | gotoassist
      | ammyy
      | aeroadmin
      | quick\ ?assist
      | snelle\ hulp
      | remote\ support
      | remote\ access
      | hulp\ op\ afstand
      | overname\ op\ afstand
      | op\ afstand\ overnemen
      | computer\ op\ afstand
    )\b
    """,
    VERBOSE,
)
# A remote-access tool in a link's address.
REMOTE_HREF = re.compile(
    r"""
    (
        anydesk
      | teamviewer
      | ultraviewer
      | supremo
      | rustdesk
      | logmein
      | splashtop
      | screenconnect
      | connectwise
      | gotoassist
      | ammyy
      | aeroadmin
      | quickassist
      | quick-assist
    )
    """,
    VERBOSE,
)
# A link to a program (with a remote-tool label: a download of one).
EXECUTABLE = re.compile(r"\.(exe|msi|dmg|pkg|scr|apk|bat|cmd|ps1)(\?|\#|$)", VERBOSE)
# Alarm and browser-locker language, and the "safe account" of bank helpdesk fraud.
ALARM = re.compile(
    r"""
    \b(
        virus(sen)?\ (gedetecteerd|gevonden)
      | virus(es)?\ (detected|found)
      | (uw|je|this|your)\ (computer|pc|apparaat|device|browser|iphone|mac)\ (is|has\ been|werd)\ (
            geblokkeerd
          | vergrendeld
          | geïnfecteerd
          | geinfecteerd
          | locked
          | blocked
          | infected
          | compromised
        )
      | do\ not\ (shut\ down|restart|close|turn\ off)
      | schakel\ (uw|je)\ (computer|pc)\ niet\ uit
      | sluit\ deze\ (pagina|browser)\ niet
      | security\ alert
      | beveiligingswaarschuwing
      | beveiligingsmelding
      | (trojan|spyware|malware|ransomware)\ (gedetecteerd|detected)
      | (account|apple\ id|microsoft\ account)\ (is\ |has\ been\ )?(
            geblokkeerd
          | opgeschort
          | suspended
          | locked
          | disabled
        )
      | has\ been\ suspended
      | bel\ (onmiddellijk|direct|meteen)\ (de\ |het\ )?\w*(support|helpdesk|klantenservice)
      | bel\ onmiddellijk
      | call\ (immediately|now\ to\ (unlock|restore))
      | error\ (code\ )?\#?\ ?0x[0-9a-f]{3,}
      | foutcode:?\ ?0x[0-9a-f]{3,}
      | uw\ (gegevens|wachtwoorden|bankgegevens)\ (worden|zijn)\ (gestolen|in\ gevaar)
      | kluisrekening
      | veilige\ (bank)?rekening
      | geld\ (veilig|in\ veiligheid)\ (zetten|stellen|brengen)
      | safe\ account
    )
    """,
    VERBOSE,
)
# "Official helpdesk", "certified technicians".
CLAIMS_OFFICIAL = re.compile(
    r"""
    \b(offici[eë]le?|official)\s+(\w+\s+){0,2}?(
        helpdesk
      | help\ desk
      | klantenservice
      | klantendienst
      | support
      | supportlijn
      | ondersteuning
      | servicedesk
      | storingsdienst
      | hotline
      | helpline
      | customer\ service
      | nummer
      | number
      | partner
    )\b
  | \b(gecertificeerde?|certified)\s+(\w+\s+){0,2}?(
        technici
      | technicus
      | technicians?
      | specialisten
      | specialists?
      | experts?
      | engineers?
      | medewerkers
      | agents?
      | partner
    )\b
    """,
    VERBOSE,
)
# Words of a page that warns about a number. Prefixes on purpose: Dutch
# compounds ("nepsite", "helpdeskfraude", "oplichters"). Not a bare
# "waarschuwing": browser lockers shout that too.
# Strong words call the number itself false; weak ones name the crime, and a
# fake bank helpdesk uses them too ("Fraude? Bel de Nordbank fraudelijn: 085 ..."),
# so they count only when the number is not presented as the brand's.
WARNING = re.compile(
    r"""
    (
        \boplicht\w*
      | \bnep(site|nummer|nummers|helpdesk|bellers?|pe)?\b
      | \bnep-
      | \bnep(nummer|site|helpdesk|klantenservice|medewerker|bankmedewerker|bericht)\w*
      | \bwaarschuw(t|en|de)\b
      | \bwaarschuwing(en)?\ voor\b
      | \bscam\w*
      | \btrap\ er\ niet\ in\b
      | \bfake\b
      | \bmalafide\b
      | \bvals(e)?\b
      | \bcriminelen\b
      | \bniet\ (terug)?bellen\b
      | \bbel\ niet\b
      | \bdo\ not\ call\b
      | \bbeware\b
    )
    """,
    VERBOSE,
)
WEAK_WARNING = re.compile(
    r"""
    (
        \w*fraude\w*
      | \bfrauduleu\w*
      | \bphishing\b
      | \bslachtoffer\w*
      | \bspoofing\b
    )
    """,
    VERBOSE,
)
# First host labels of forums and Q&A sites.
UGC_HOSTS = frozenset(
    {
        "answers",
        "community",
        "communities",
        "forum",
        "forums",
        "discussions",
        "discussion",
        "techcommunity",
        "gathering",
        "feedback",
    }
)
# Path segments of threads, questions and comments.
UGC_PATH = re.compile(
    r"""
    /(
        thread
      | threads
      | topic
      | topics
      | forum
      | forums
      | question
      | questions
      | discussion
      | discussions
      | community
      | comments?
      | reacties
      | t
      | posts?
    )/
    """,
    VERBOSE,
)
# Markup of posts and answers.
UGC_MARKUP = re.compile(
    r"""
    (
        DiscussionForumPosting
      | QAPage
      | "Comment"
      | class="[^"]*\b(
            reply
          | comment
          | forum-post
          | post-reply
          | answer
        )\b
    )
    """,
    VERBOSE,
)
# A service of the brand's: "Nordbank fraudeafdeling", "Norton support", "de
# klantenservice van PostNL" (a fragment for presents_as_brand and own_service).
SERVICE = r"""
    \w*(
        helpdesk
      | klantenservice
      | klantendienst
      | support
      | dienst
      | afdeling
      | technici
      | technicus
      | medewerker
      | specialist
      | servicedesk
      | hotline
      | helpline
      | service
      | lijn
      | nummer
      | team
      | monteur
      | expert
      | desk
    )\w*
"""
# A call to the brand itself: "bel Odido".
CALL = r"""
    (
        bel
      | bellen
      | belt
      | call
      | contact
      | app
      | whatsapp
      | phone
    )
"""
NEGATION = re.compile(r"\b(geen | niet | not | no | nooit | never)\b", VERBOSE)
NEVER = re.compile(r"\b(nooit | never | nimmer)\b", VERBOSE)
# The site speaking of its own line: "bel onze servicedesk", "call us".
FIRST_PERSON = re.compile(r"\b(ons | onze | wij | we | mij | me | our | us | my)\b", VERBOSE)
# A brand's own page that names a number without listing it as its own:
# "wij bellen nooit vanaf 085 ...", "meld verdachte nummers zoals 085 ...".
NOT_LISTING = re.compile(
    r"""
    \b(
        geen
      | niet
      | not
      | no
      | nooit
      | never
      | verdacht\w*
      | onbekende?
      | unknown
      | suspicious
      | zoals
    )\b
    """,
    VERBOSE,
)
# Browser-locker behaviour in the page's scripts: two or more make a locker.
LOCKER = (
    re.compile(r"requestFullscreen | webkitRequestFullscreen | mozRequestFullScreen", VERBOSE),
    re.compile(r"onbeforeunload | [\"']beforeunload[\"']", VERBOSE),
    re.compile(r"<audio[^>]*\bautoplay | \.play\(\)", VERBOSE),
    re.compile(r"\balert\s*\(", VERBOSE),
    re.compile(r"history\.pushState", VERBOSE),
)
# A sentence that reports a number or doubts it: "gemelde nummers: 085 ...",
# "Is 088 ... echt de storingsdienst van Odido?" (with WARNING's words).
REPORT = re.compile(
    r"""
    (
        \bgemeld\w*
      | \bmeldingen\b
      | \breported\b
      | \bverdacht\w*
      | \bsuspicious\b
      | \bgebeld\ door\b
      | \bbelde\ mij\b
      | \bcalled\ me\b
      | \b(echt|klopt|betrouwbaar|really|legit)\b[^?]*\?
    )
    """,
    VERBOSE,
)
# Staff or moderators answering on a brand's own forum.
STAFF = re.compile(
    r"""
    \b(
        staff
      | moderator
      | community\ specialist
      | community\ manager
      | beheerder
      | medewerker
      | employee
      | agent
    )\b
    """,
    VERBOSE,
)


def denial(names: list[str]) -> re.Pattern:
    """A brand's own page saying a number is not the brand's: "dit is geen nummer van
    HP", "dat nummer is niet van Apple", "not an Apple number", "ING belt nooit vanaf"."""
    name = "(" + "|".join(re.escape(n) for n in names if n) + ")"
    return re.compile(
        rf"""
        (geen|not\ an?|niet\ een)\s+(\w+\s+){{0,2}}?
            (nummer|number|telefoonnummer)\s+(van|of|from)\s+{name}\b
      | (nummer|number)\s+(is\s+)?(niet|not)\s+(van|of|from)\s+{name}\b
      | (geen|not\ an?)\s+{name}[\s-]+(nummer|number)
      | \b{name}\s+(belt|bellen|calls?)\s+(u\s+|you\s+|klanten\s+)?(nooit|never)
            \s+(vanaf|from|met|via)\b
        """,
        VERBOSE,
    )


# A call to action: the page tells readers to call this number (its own line,
# the police, a help desk), which a report never does.
CALL_TO_ACTION = re.compile(
    r"""
    \b(
        bel
      | belt\ u
      | call
      | phone
      | app
      | whatsapp
      | mail
      | contact
      | bereikbaar
      | via
    )\b
    """,
    VERBOSE,
)
# A service line named in a sentence ("Ledenservice: 070 ...").
SERVICE_WORD = re.compile(SERVICE, VERBOSE)
