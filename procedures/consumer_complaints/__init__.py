"""P2, consumer complaints (seed part 2, 4.3): recorded (顧客投訴記錄表), judged, decided,
answered."""
