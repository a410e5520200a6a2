"""jetstream"""
