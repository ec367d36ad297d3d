"""English category rules for the civic abuse moderators reported missing (issue #11): sexual harassment of
officials, intimidation and doxxing, dehumanising hate against groups, wishes of harm. Each must-match post
names its category; each must-not-match post is the civic phrasing a broadened pattern must leave alone
(threat and intimidation hits are held unreviewed, so those carry the strictest list)."""
from __future__ import annotations

import pytest

from moderation.classifier.rules import hits
from moderation.classifier.text import normalise


def _categories(text):
    return {h.category for h in hits(normalise(text))}


@pytest.mark.parametrize("text, category", [
    # threats: first-person violence to a body part, calls for someone to do harm, wishes of harm
    ("Gonna smash your face in", "threat"),
    ("I'll rip your head off", "threat"),
    ("I'll snap your neck you jumped up little clerk", "threat"),
    ("I'll put you in hospital", "threat"),
    ("Next time I see that councillor I'm knocking him out", "threat"),
    ("Someone needs to run him over", "threat"),
    ("Somebody should stab that planner", "threat"),
    ("Somebody should burn the council offices down with them inside", "threat"),
    ("He'd better hope I never find him alone", "threat"),
    ("That officer should have his throat cut", "threat"),
    ("I hope your house burns down with you in it", "threat"),
    ("I hope your family gets raped", "threat"),
    ("I wish you'd get hit by a bus", "threat"),
    ("I hope he dies a slow painful death", "threat"),
    ("Hope your kids get run over on that new cycle lane", "threat"),
    ("The whole cabinet should be lined up and shot", "threat"),
    ("I'll be waiting outside the town hall with a baseball bat", "threat"),
    ("Mark my words, that planner won't see Christmas", "threat"),
    ("I want to see that councillor swinging from a rope", "threat"),
    ("The chief exec should be dragged out and beaten", "threat"),
    ("Wouldn't cry if someone put a knife in him", "threat"),
    ("Get ready to bleed, councillor", "threat"),
    ("Hope a lorry flattens you on your precious cycle lane", "threat"),
    ("I'll be paying you a visit with a few mates, bring a first aid kit", "threat"),
    ("Someone's going to put you in a coma one day, councillor", "threat"),
    ("Petrol through your letterbox would sort you out", "threat"),
    ("If this bridge gets built I'll make sure the mayor never walks again", "threat"),
    ("Wait till I get my hands on you, you'll be sorry", "threat"),
    ("I'll stab the next councillor who knocks on my door", "threat"),
    ("I'd happily run the lot of them down in my van", "threat"),
    # intimidation: finding and sharing where someone lives, watching their family, veiled menace
    ("Found her home address on the electoral roll, sharing it with the group", "intimidation"),
    ("Here's where the planning officer lives, go pay your respects", "intimidation"),
    ("Anyone know where this councillor lives?", "intimidation"),
    ("Does anyone have her home address? Time for a doorstep protest", "intimidation"),
    ("We know what time your kids finish school", "intimidation"),
    ("We know when your husband leaves for work", "intimidation"),
    ("Your daughter walks home alone on Thursdays, doesn't she", "intimidation"),
    ("We'll be outside your house tonight, all of us", "intimidation"),
    ("Everyone go to his house and tell him what we think", "intimidation"),
    ("I've got people watching your house", "intimidation"),
    ("I'll make sure your employer hears about this", "intimidation"),
    ("Keep objecting and see what happens to you", "intimidation"),
    ("Withdraw your complaint if you know what's good for you", "intimidation"),
    ("You'd better watch what you say in the next meeting", "intimidation"),
    ("Nice car on your drive, be a pity if it got scratched", "intimidation"),
    ("Here is her number, flood her phone until she quits", "intimidation"),
    ("Drop the objection or else", "intimidation"),
    ("I've got his mobile number if anyone wants to give him a piece of their mind at 3am", "intimidation"),
    ("Cllr Shah's home address is on the electoral roll, go and have a look", "intimidation"),
    ("Just a reminder that we know which house is yours", "intimidation"),
    ("Let's all go round to the planning officer's house and have a chat", "intimidation"),
    ("Tell your wife to be careful on her way home", "intimidation"),
    ("Nice school your daughter goes to", "intimidation"),
    ("I followed her back from the surgery, she lives two streets from me", "intimidation"),
    ("Anyone fancy a trip to Cllr Green's house tonight? I'll DM the address", "intimidation"),
    ("Sharing the officer's private number below, go for it", "intimidation"),
    # sexual harassment of officials
    ("Bet she gives great head, that's how she got elected", "sexual"),
    ("She's only on the committee because she sucked off the leader", "sexual"),
    ("Someone should bend her over the council table", "sexual"),
    ("Wear a shorter skirt next meeting love, might get more votes", "sexual"),
    ("She needs a good shagging to sort her attitude out", "sexual"),
    ("What she needs is a good seeing to", "sexual"),
    ("I'd rail that councillor till she can't walk", "sexual"),
    ("I've seen your onlyfans, councillor, very nice", "sexual"),
    ("The mayor is a dirty little slag", "sexual"),
    ("Cllr Ahmed is a proper MILF, would smash", "sexual"),
    ("I jerked off to her council profile photo", "sexual"),
    ("Imagine her naked at the podium", "sexual"),
    ("I want to rape that councillor", "sexual"),
    ("She deserves to be raped for what she said", "sexual"),
    ("Post more photos of you in that tight dress", "sexual"),
    ("Councillor Price would look better on her back", "sexual"),
    ("Get your kit off for the next newsletter and I'll read it", "sexual"),
    ("That skirt at full council was asking for it", "sexual"),
    ("I'd give her one, she's fit for a councillor", "sexual"),
    ("Get her on all fours and she'd approve anything", "sexual"),
    # dehumanising hate against groups
    ("The Somalis on the estate are animals", "hate"),
    ("Somalis are parasites, every one of them", "hate"),
    ("Pakistanis should all be deported", "hate"),
    ("Blacks should go back to Africa", "hate"),
    ("The gays are grooming our kids at that library", "hate"),
    ("Jews control the council, always have", "hate"),
    ("The council houses are full of foreign scum", "hate"),
    ("Muslims shouldn't be allowed to vote", "hate"),
    ("Kick every last one of those muslims out of the country", "hate"),
    ("The refugees in the hotel are rats", "hate"),
    ("Every single Muslim in this town is a terrorist", "hate"),
    ("The travellers are feral animals, gas the lot", "hate"),
    ("Gays shouldn't be allowed near kids, they're all nonces", "hate"),
    ("Africans breed like rabbits and drain the council", "hate"),
    ("Send the Romanians back where they crawled out from", "hate"),
    ("The Chinese are dirty and bring disease", "hate"),
    ("Ship every last migrant back on the next boat", "hate"),
    # encouragement of self-harm
    ("Why are you still alive", "selfharm"),
    ("Maybe you should just stop breathing", "selfharm"),
    ("Go play in traffic, planner", "selfharm"),
    ("Do the world a favour and end yourself", "selfharm"),
    ("Nobody would care if you stepped in front of a train", "selfharm"),
    ("Take a long walk off a short pier, permanently", "selfharm"),
    ("Drown yourself in the canal while you're at it", "selfharm"),
    # insults
    ("Absolute bellend running this council", "insult"),
    ("Cllr Evans is a spineless, gutless waste of space", "insult"),
    ("You ugly old hag, nobody voted for you", "insult"),
    ("You're an absolute disgrace of a human being", "insult"),
    ("What a spineless little worm", "insult"),
    ("Should've been strangled at birth, the lot of them", "insult"),
])
def test_civic_abuse_is_found_with_its_category(text, category):
    assert category in _categories(text), hits(normalise(text))


@pytest.mark.parametrize("text", [
    "Kill the plan for the incinerator now",
    "The budget is murder on small charities this year",
    "The new bus lane was a shot in the arm for local shops",
    "I could murder a coffee after that meeting",
    "The councillors will get their comeuppance at the ballot box",
    "The cuts will break the backs of small charities",
    "Someone should run the figures over again before the vote",
    "Make fly-tippers pay for the clean-up",
    "Knock the old pub down and build flats",
    "We will be outside the town hall on Saturday with placards",
    "Turn up at the surgery on Friday and ask your councillor directly",
    "Anyone know where the councillor holds her surgery?",
    "Does anyone have the council's phone number for missed bins?",
    "Make doxxing of public officials a criminal offence",
    "Protect councillors' home addresses from publication on the electoral register",
    "Our kids finish school at 3 and the crossing has no warden",
    "My daughter walks home alone and the street lights are out",
    "I saw the councillor at Tesco yesterday and asked about the bins",
    "People are watching the council's handling of the budget closely",
    "Keep objecting: the deadline is Friday",
    "Hope the councillor gets well soon after the operation",
    "The slow death of the high street must be stopped",
    "A woman was raped near the canal path, we need lighting",
    # everyday senses of the words the new intimidation and threat patterns use
    "I was parked near her house when the tree came down",
    "Our volunteers will be round your house with leaflets this week",
    "We saw your wife at the fete, she was lovely and helped with the tombola",
    "We know your kids go to the local school, so you understand the crossing problem",
    "Who knows where the mayor lives? Not in this borough, that's for sure",
    "This is where she lives, the lady whose garden flooded, please help her",
    "You'd better watch your step on the icy pavements near the station",
    "People go round to her house to help her with the shopping",
    "Hope someone beats the lot of them at the election",
    "Stop the cuts or else the library will close",
    "Somebody should knock that wall down",
    "We'll smash the fundraising target this year",
    "I'm going to cut the ribbon at the opening",
    "Councillors should have their heads examined for approving this",
    "Let's go to the council meeting on Tuesday and make our voices heard",
    "Let's all turn up at the town hall for the budget vote",
    "Carry on with this scheme and the high street will end up dead",
    "Be careful walking home after the meeting, the street lights are out on Mill Lane",
    "I've got his mobile number from the council website, he was helpful",
    "The chief exec should be dragged before the scrutiny committee",
    "Get ready to queue, the new parking system is chaos",
    "Hope a lorry never flattens a cyclist on that junction again",
    "The mayor may never walk again after the crash, send him our best",
    "Wait till I get my hands on the new timetable",
    "Tell your wife thank you for organising the litter pick",
    "I followed the bus back from the depot to check the route",
    "Sharing the council's phone number below for complaints",
    "Petrol prices are crippling rural residents",
])
def test_civic_phrasing_is_neither_threat_nor_intimidation(text):
    assert not _categories(text) & {"threat", "intimidation"}, hits(normalise(text))


@pytest.mark.parametrize("text", [
    "Make sexual harassment in public places a specific criminal offence",
    "She reported being groped on the night bus and nothing was done",
    "Protect women from upskirting and cyberflashing",
    "Fund self-harm prevention services in every secondary school",
    "Install barriers on the bridge where people have jumped",
    "Report hate crime at the police station or online",
    "Refugees are welcome here",
    "The refugees in the hotel need support and English classes",
    "Muslims should be able to pray at work",
    "Travellers need a permanent site with water and electricity",
    "Trans people deserve safe access to toilets",
    "Gulls are vermin and should be culled",
    "Rats are infesting the bins behind the restaurants",
    "The roof of the community centre needs a good seeing to",
    "The slag heap at the old colliery should be made safe",
    "Stop slagging off the volunteers, they work hard",
    "Wear something warm to the bonfire night event",
    "Go jump in the lake at the summer swim event",
    "The car park is a waste of space, make it a garden",
    "Why are we still paying for this failed scheme",
    "The slag from the old works is polluting the stream",
    "Jews run the food bank at the synagogue every Sunday",
    "She gave a great head count at the meeting, 40 people came",
    "Muslims are being attacked in the street, we must act",
    "Not all Muslims are terrorists, and the leaflet saying so should be removed",
    "Travellers on the 8.10 train are packed like sardines",
    "Send us a pic of your garden for the in-bloom competition",
    "Take a long walk along the new riverside path, it's beautiful",
    "I'd give her one of our leaflets if she came to the stall",
    "Cum laude graduates from the college won the award",
    "Asylum seekers are waiting years for a decision",
    "Hindus celebrated Diwali in the park",
    "What a spineless decision by the committee",
])
def test_civic_posts_about_harassment_hate_and_self_harm_match_no_category(text):
    assert hits(normalise(text)) == []


# Older held patterns narrowed after they fired on the civic posts written for this file: each must still
# catch the threat or intimidation it was written for.
@pytest.mark.parametrize("text, category", [
    ("We know where your kids go to school", "intimidation"),
    ("We know where he works and where he parks", "intimidation"),
    ("I hope you die", "threat"),
    ("I hope they all burn", "threat"),
    ("His address is 14 Elm Road, you all know what to do", "intimidation"),
    ("Your address is 12 Mill Lane, isn't it", "intimidation"),
    ("I'm going to post her address online", "intimidation"),
    ("Posting their home addresses tonight", "intimidation"),
    ("I'll break their legs", "threat"),
    ("Someone will hurt you if this goes ahead", "threat"),
])
def test_narrowed_older_patterns_still_catch_threats(text, category):
    assert category in _categories(text), hits(normalise(text))


@pytest.mark.parametrize("text", [
    "We know where you stand on this, councillor, and we disagree",
    "I know where you're coming from but the road is dangerous",
    "I hope they die down soon, the protests are noisy",
    "Your address is needed on the form to sign the petition",
    "Councillors should not have to publish their home addresses",
    "Remove the requirement for candidates to publish their home address",
    "My knee went on the broken pavement, someone will break their neck there",
    "People will hurt their backs lifting the new bins",
])
def test_civic_phrasing_of_narrowed_older_patterns_is_not_held(text):
    assert not _categories(text) & {"threat", "intimidation"}, hits(normalise(text))


@pytest.mark.parametrize("text", [
    "Rat infestation behind the takeaway on Elm Road",
    "Bootle fly infestation",
])
def test_pest_infestations_are_not_hate(text):
    assert hits(normalise(text)) == []
