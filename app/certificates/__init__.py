"""Certificates: completion → certificate, PDF, signed credential, verification, subsidy rules."""
