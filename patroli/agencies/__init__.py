"""The licensed-agency (P3MI) register: importing the ministry's lists (``importer``) and checking
an ad against them (``check``), with the reasons analysts read (``reasons``).

How the ministry's teams verify an ad (../shared/domain/practice.md): is the named agency licensed,
does it hold a job order for that country and position, and — because scammers print a real
agency's name and address with their own phone number — are the ad's contacts the agency's own.
"""
